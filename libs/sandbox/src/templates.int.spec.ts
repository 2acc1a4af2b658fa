import { afterAll, describe, expect, it } from 'vitest';
import { PythonPool, createRunner, templates, type SandboxRecord } from './index.ts';

const pool = new PythonPool({ size: 1 });
afterAll(() => pool.close());

const recs: SandboxRecord[] = [
  { id: '1', attributes: { text: 'This is awesome, says Acme Inc today.' } },
  { id: '2', attributes: { text: 'nothing to see' } },
];

describe('templates compile and run as shipped', () => {
  for (const language of ['javascript', 'typescript', 'python'] as const) {
    it(`${language} classification`, async () => {
      const r = await createRunner({ language, code: templates[language].classification, kind: 'classification', labels: ['positive', 'negative'] }, { pythonPool: pool });
      expect(await r.runBatch(recs)).toEqual(['positive', null]);
      await r.close();
    });
    it(`${language} extraction`, async () => {
      const r = await createRunner({ language, code: templates[language].extraction, kind: 'extraction', labels: ['company'], targetAttribute: 'text' }, { pythonPool: pool });
      expect(await r.runBatch(recs)).toEqual([[{ label: 'company', start: 22, end: 30 }], []]);
      await r.close();
    });
  }
});
