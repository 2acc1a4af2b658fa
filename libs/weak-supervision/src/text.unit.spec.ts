import { describe, expect, it } from 'vitest';
import { fitLabelModel, fitTextModel, labelMatrixFromDense, textFeatures } from './index.ts';

describe("'ours+text' end model (reads record text; separate from 'ours')", () => {
  // class 1 texts contain "free" or "win"; an LF only catches "free" — records with "win" get no vote
  const texts: string[] = [];
  const gold: number[] = [];
  const rows: number[][] = [];
  for (let i = 0; i < 400; i++) {
    const y = i % 2;
    const word = y === 1 ? (i % 4 === 1 ? 'free' : 'win') : i % 4 === 0 ? 'hello' : 'thanks';
    texts.push(`${word} prize number ${i % 7} ${y === 1 ? 'click now' : 'see you'}`);
    gold.push(y);
    rows.push([word === 'free' ? 1 : -1, word === 'hello' ? 0 : -1]);
  }
  const m = labelMatrixFromDense(rows);

  it('generalises beyond the LF votes to uncovered records through shared words', () => {
    const lm = fitLabelModel('ours', m, { numClasses: 2 });
    const lp = lm.predict();
    const tm = fitTextModel(texts, lp.probs, { numClasses: 2 });
    const p = tm.predict(texts);
    const uncoveredWin = texts.map((_, i) => i).filter((i) => i % 4 === 3);
    // the label model cannot tell "win" records from "thanks" records (both uncovered) …
    expect(lp.labels[3]).toBe(lp.labels[2]);
    // … the text model can: "click now" co-occurs with "free" (class 1) in the covered records
    for (const i of uncoveredWin) expect(p.labels[i]).toBe(1);
    for (let i = 0; i < 400; i += 4) expect(p.labels[i]).toBe(0);
    for (let i = 0; i < p.probs.length; i++) expect(Number.isFinite(p.probs[i]!)).toBe(true);
    // deterministic
    expect(Array.from(fitTextModel(texts, lp.probs, { numClasses: 2 }).predict(texts).probs)).toEqual(Array.from(p.probs));
  });

  it('manual labels are one-hot targets; empty texts are defined', () => {
    const probs = new Float64Array(4 * 2).fill(0.5);
    const tm = fitTextModel(['a b', 'a b', 'c', ''], probs, { numClasses: 2, manualLabels: [1, 1, 0, -1], minCount: 1 });
    const p = tm.predict(['a b', '', 'zzz']);
    expect(p.labels[0]).toBe(1);
    for (let i = 0; i < p.probs.length; i++) expect(Number.isFinite(p.probs[i]!)).toBe(true);
    expect(textFeatures('')).toEqual(['<empty>']);
    expect(() => fitTextModel(['a'], new Float64Array(3), { numClasses: 2 })).toThrow(RangeError);
  });
});
