/**
 * Acceptance check: the first 7 YouTube spam labeling functions (WRENCH / Snorkel tutorial),
 * written once in JavaScript and once in Python, run through the sandbox over every record of
 * train/valid/test must reproduce columns 0–6 of `weak_labels` exactly.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PythonPool, createRunner, type SandboxRecord, type Vote } from './index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const dataDir = path.resolve(repoRoot, '../shared/ws-data/youtube');

interface Row {
  label: number;
  weak_labels: number[];
  data: { text: string };
}

const records: SandboxRecord[] = [];
const expected: number[][] = [];
for (const split of ['train', 'valid', 'test']) {
  const rows = JSON.parse(readFileSync(path.join(dataDir, `${split}.json`), 'utf8')) as Record<string, Row>;
  const keys = Object.keys(rows).sort((a, b) => Number(a) - Number(b));
  for (const k of keys) {
    const row = rows[k]!;
    records.push({ id: `${split}:${k}`, attributes: { text: row.data.text } });
    expected.push(row.weak_labels.slice(0, 7));
  }
}

const labels = ['HAM', 'SPAM'];
const toId = (v: Vote): number => (v === null ? -1 : v === 'HAM' ? 0 : v === 'SPAM' ? 1 : -2);

// Python's str.split() splits on str.isspace() characters; JavaScript's \s differs (it includes
// U+FEFF, which ends most of these texts, and lacks U+001C–U+001F and U+0085).
const PY_WS = String.raw`[\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+`;

const jsKeyword = (words: string[], label: string): string =>
  `function lf(record) {\n  const text = record.text.toLowerCase();\n  if (${JSON.stringify(words)}.some((w) => text.includes(w))) return ${JSON.stringify(label)};\n}\n`;
const pyKeyword = (words: string[], label: string): string =>
  `def lf(record):\n    text = record["text"].lower()\n    if any(w in text for w in ${JSON.stringify(words)}):\n        return ${JSON.stringify(label)}\n    return None\n`;

const LFS: Array<{ name: string; javascript: string; python: string }> = [
  { name: 'keyword_my', javascript: jsKeyword(['my'], 'SPAM'), python: pyKeyword(['my'], 'SPAM') },
  { name: 'keyword_subscribe', javascript: jsKeyword(['subscribe'], 'SPAM'), python: pyKeyword(['subscribe'], 'SPAM') },
  { name: 'keyword_link', javascript: jsKeyword(['http'], 'SPAM'), python: pyKeyword(['http'], 'SPAM') },
  { name: 'keyword_please', javascript: jsKeyword(['please', 'plz'], 'SPAM'), python: pyKeyword(['please', 'plz'], 'SPAM') },
  { name: 'keyword_song', javascript: jsKeyword(['song'], 'HAM'), python: pyKeyword(['song'], 'HAM') },
  {
    name: 'regex_check_out',
    // Python's `.` excludes only "\n"; JavaScript's also excludes "\r", U+2028, U+2029.
    javascript: 'function lf(record) {\n  return /check[^\\n]*out/i.test(record.text) ? "SPAM" : undefined;\n}\n',
    python: 'import re\n\ndef lf(record):\n    return "SPAM" if re.search(r"check.*out", record["text"], flags=re.I) else None\n',
  },
  {
    name: 'short_comment',
    javascript: `const WS = /${PY_WS}/;\nfunction lf(record) {\n  const words = record.text.split(WS).filter((w) => w.length > 0);\n  return words.length < 5 ? "HAM" : null;\n}\n`,
    python: 'def lf(record):\n    return "HAM" if len(record["text"].split()) < 5 else None\n',
  },
];

let pool: PythonPool;
beforeAll(() => {
  pool = new PythonPool({ size: 2 });
});
afterAll(async () => {
  await pool.close();
});

describe('YouTube labeling functions reproduce weak_labels columns 0–6', () => {
  it('has all 1956 records', () => {
    expect(records.length).toBe(1586 + 120 + 250);
  });

  for (const language of ['javascript', 'python'] as const) {
    it(`${language}: every record, every LF`, async () => {
      const mismatches: string[] = [];
      for (let j = 0; j < LFS.length; j++) {
        const lf = LFS[j]!;
        const runner = await createRunner({ language, code: lf[language], kind: 'classification', labels }, { pythonPool: pool });
        const votes: Vote[] = [];
        for (let i = 0; i < records.length; i += 500) votes.push(...(await runner.runBatch(records.slice(i, i + 500))));
        await runner.close();
        expect(votes.length).toBe(records.length);
        for (let i = 0; i < records.length; i++) {
          const got = toId(votes[i]!);
          const want = expected[i]![j]!;
          if (got !== want) mismatches.push(`${lf.name} ${records[i]!.id}: got ${got}, want ${want}`);
        }
      }
      expect(mismatches.slice(0, 20)).toEqual([]);
      expect(mismatches.length).toBe(0);
    });
  }
});
