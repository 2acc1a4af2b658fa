/**
 * Acceptance check: the first 7 YouTube spam labeling functions (WRENCH / Snorkel tutorial),
 * written once in JavaScript and once in Python, run through the sandbox over every record of
 * train/valid/test must reproduce columns 0–6 of `weak_labels` exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PythonPool, createRunner, type SandboxRecord, type Vote } from './index.ts';
import { loadYoutubeComments, YOUTUBE_LABELS, YOUTUBE_LFS as LFS } from '../test/youtube.ts';

const comments = loadYoutubeComments();
const records: SandboxRecord[] = comments.map((c) => ({ id: `${c.split}:${c.index}`, attributes: { text: c.text } }));
const expected = comments.map((c) => c.expected);
const labels = [...YOUTUBE_LABELS];
const toId = (v: Vote): number => (v === null ? -1 : v === 'HAM' ? 0 : v === 'SPAM' ? 1 : -2);

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
