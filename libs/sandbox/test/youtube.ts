/**
 * The YouTube spam acceptance fixture (WRENCH / Snorkel tutorial, ../shared/ws-data/youtube):
 * every comment of train/valid/test in row order with columns 0–6 of `weak_labels`, and the
 * first 7 labeling functions written once in JavaScript and once in Python. Used by the sandbox
 * test and by the product's acceptance test.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** CI clones the repository with shared/ beside it, as on a developer's machine */
export const youtubeDataDir = path.resolve(repoRoot, '../shared/ws-data/youtube');

export interface YoutubeComment {
  split: 'train' | 'valid' | 'test';
  /** row index within its split */
  index: string;
  text: string;
  /** columns 0–6 of weak_labels: -1 abstain, 0 HAM, 1 SPAM */
  expected: number[];
}

export function loadYoutubeComments(): YoutubeComment[] {
  const out: YoutubeComment[] = [];
  for (const split of ['train', 'valid', 'test'] as const) {
    const rows = JSON.parse(readFileSync(path.join(youtubeDataDir, `${split}.json`), 'utf8')) as Record<string, { weak_labels: number[]; data: { text: string } }>;
    // Keep numeric row order: published figures depend on it.
    for (const index of Object.keys(rows).sort((a, b) => Number(a) - Number(b))) {
      out.push({ split, index, text: rows[index]!.data.text, expected: rows[index]!.weak_labels.slice(0, 7) });
    }
  }
  return out;
}

export const YOUTUBE_LABELS = ['HAM', 'SPAM'] as const;

// Python's str.split() splits on str.isspace() characters; JavaScript's \s differs (it includes
// U+FEFF, which ends most of these texts, and lacks U+001C–U+001F and U+0085).
const PY_WS = String.raw`[\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+`;

const jsKeyword = (words: string[], label: string): string =>
  `function lf(record) {\n  const text = record.text.toLowerCase();\n  if (${JSON.stringify(words)}.some((w) => text.includes(w))) return ${JSON.stringify(label)};\n}\n`;
const pyKeyword = (words: string[], label: string): string =>
  `def lf(record):\n    text = record["text"].lower()\n    if any(w in text for w in ${JSON.stringify(words)}):\n        return ${JSON.stringify(label)}\n    return None\n`;

/** The first 7 labeling functions of youtube/readme.txt, in column order. */
export const YOUTUBE_LFS: ReadonlyArray<{ name: string; javascript: string; python: string }> = [
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
