/** Starting points shown to users when they create a heuristic. Labels are placeholders. */
export const templates = {
  javascript: {
    classification: `// Return a label name, or nothing (undefined / null) to abstain.
// record: the record's attributes, e.g. record.text
// ctx: ctx.recordId, ctx.tokens('text'), ctx.lookup('list'), ctx.inLookup('list', text)
function lf(record, ctx) {
  if (/awesome|great/i.test(record.text)) {
    return 'positive';
  }
}
`,
    extraction: `// Return (or yield) spans { label, start, end } with character offsets into the target attribute,
// or { label, tokenStart, tokenEnd } with token offsets (end exclusive).
function* lf(record, ctx) {
  for (const m of record.text.matchAll(/\\b[A-Z][a-z]+ (Inc|Ltd|GmbH)\\b/g)) {
    yield { label: 'company', start: m.index, end: m.index + m[0].length };
  }
}
`,
  },
  typescript: {
    classification: `// Return a label name, or nothing (undefined / null) to abstain.
type Attributes = { [attribute: string]: string | number | boolean | null };

function lf(record: Attributes, ctx: Ctx): string | undefined {
  const text = String(record.text ?? '');
  if (/awesome|great/i.test(text)) {
    return 'positive';
  }
}

interface Ctx {
  recordId: string;
  tokens(attribute: string): { text: string; start: number; end: number }[];
  lookup(name: string): readonly string[];
  inLookup(name: string, text: string): boolean;
}
`,
    extraction: `// Return (or yield) spans with character offsets (start/end) or token offsets (tokenStart/tokenEnd).
type Span = { label: string; start: number; end: number };

function* lf(record: { [attribute: string]: string | number | boolean | null }): Generator<Span> {
  const text = String(record.text ?? '');
  for (const m of text.matchAll(/\\b[A-Z][a-z]+ (Inc|Ltd|GmbH)\\b/g)) {
    yield { label: 'company', start: m.index!, end: m.index! + m[0].length };
  }
}
`,
  },
  python: {
    classification: `# Return a label name, or None to abstain.
# record: dict of the record's attributes, e.g. record["text"]
# lookup("list") -> tuple of terms; in_lookup("list", text) -> bool
def lf(record):
    if "awesome" in record["text"].lower():
        return "positive"
`,
    extraction: `# Yield (or return a list of) spans {"label", "start", "end"} with character offsets,
# or {"label", "token_start", "token_end"} with token offsets (end exclusive).
# Optional second parameter: ctx.record_id, ctx.tokens("text"), ctx.lookup(name), ctx.in_lookup(name, text)
import re

COMPANY = re.compile(r"\\b[A-Z][a-z]+ (Inc|Ltd|GmbH)\\b")

def lf(record):
    for m in COMPANY.finditer(record["text"]):
        yield {"label": "company", "start": m.start(), "end": m.end()}
`,
  },
} as const satisfies Record<'javascript' | 'typescript' | 'python', { classification: string; extraction: string }>;
