import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '@refinery/events/testing';
import { startTestApi, type Json, type TestApi } from '../test/product.ts';

/** requests are made as the first owner, through the token seeded by REFINERY_ADMIN_TOKEN */
const ADMIN_TOKEN = 'rfy_labeling-int-spec-admin-token-012345';

for (const backend of testBackends()) {
  describe(`labeling API on ${backend.name}`, () => {
    let t: TestApi;
    let projectId: string;
    let recordIds: string[];
    let last: string;

    async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
      const r = await t.call(method, path, body, headers);
      if (r.body?.position) last = r.body.position;
      return r;
    }
    const ok = async (p: Promise<{ status: number; body: Json }>, status = 200): Promise<Json> => {
      const r = await p;
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      return r.body;
    };
    const refused = async (p: Promise<{ status: number; body: Json }>, status: number, code: string): Promise<Json> => {
      const r = await p;
      expect(r.status).toBe(status);
      expect(r.body.error.code).toBe(code);
      return r.body;
    };

    beforeAll(async () => {
      t = await startTestApi(backend, { adminToken: ADMIN_TOKEN, config: { readWaitMs: 10_000 } });
      projectId = (await ok(call('POST', '/api/projects', { name: 'Labeling' }), 201)).id!;
      const jsonl = [
        { id: 'r1', text: 'Acme Corp ships to Berlin.', lang: 'en' },
        { id: 'r2', text: 'Great price, slow shipping', lang: 'en' },
        { id: 'r3', text: 'Nothing to see', lang: 'de' },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n');
      await ok(call('POST', `/api/projects/${projectId}/imports?primaryKey=id`, jsonl, { 'content-type': 'application/x-ndjson' }), 201);
      recordIds = ['r1', 'r2', 'r3'];
    });
    afterAll(() => t.close());

    let sentiment: string;
    let entities: string;
    const labels: Record<string, string> = {};

    it('configures tasks and labels, refusing invalid configuration', async () => {
      sentiment = (await ok(call('POST', `/api/projects/${projectId}/tasks`, { name: 'Sentiment', kind: 'single_label' }), 201)).id!;
      entities = (await ok(call('POST', `/api/projects/${projectId}/tasks`, { name: 'Entities', kind: 'span', attribute: 'text' }), 201)).id!;
      for (const [name, hotkey] of [['positive', 'p'], ['negative', 'n'], ['neutral', 'u']] as const) {
        labels[name] = (await ok(call('POST', `/api/projects/${projectId}/tasks/${sentiment}/labels`, { name, hotkey }), 201)).id!;
      }
      labels.ORG = (await ok(call('POST', `/api/projects/${projectId}/tasks/${entities}/labels`, { name: 'ORG', color: '#7C3AED' }), 201)).id!;
      labels.LOC = (await ok(call('POST', `/api/projects/${projectId}/tasks/${entities}/labels`, { name: 'LOC' }), 201)).id!;

      await refused(call('POST', `/api/projects/${projectId}/tasks`, { name: 'Spans', kind: 'span', attribute: 'nope' }), 422, 'invalid_attribute');
      await refused(call('POST', `/api/projects/${projectId}/tasks`, { name: 'sentiment', kind: 'multi_label' }), 409, 'task_name_taken');
      await refused(call('POST', `/api/projects/${projectId}/tasks/${sentiment}/labels`, { name: 'mixed', hotkey: 'p' }), 409, 'hotkey_taken');
      await refused(call('POST', `/api/projects/${projectId}/tasks/nope/labels`, { name: 'x' }), 404, 'task_not_found');
      await refused(call('POST', `/api/projects/${projectId}/tasks/${sentiment}/labels`, { name: 'x', color: 'red' }), 400, 'invalid_request');

      const config = await ok(call('GET', `/api/projects/${projectId}/tasks?after=${last}`));
      expect(config.tasks.map((t: { name: string; kind: string }) => [t.name, t.kind])).toEqual([
        ['Sentiment', 'single_label'],
        ['Entities', 'span'],
      ]);
      expect(config.tasks[0].labels.map((l: { name: string; hotkey: string }) => `${l.name}:${l.hotkey}`)).toEqual(['positive:p', 'negative:n', 'neutral:u']);
      expect(config.tasks[1].labels[0].color).toBe('#7c3aed');
    });

    it('labels records, with optimistic concurrency and validation; nothing is written on refusal', async () => {
      const r1 = await ok(call('PUT', `/api/projects/${projectId}/records/r1/labels/${sentiment}`, { labelIds: [labels.positive], expectedRevision: '0' }).then((r) => r)).catch(() => undefined);
      expect(r1).toBeUndefined(); // the record stream does not exist yet: revision 0 is stale
      const first = await ok(call('PUT', `/api/projects/${projectId}/records/r1/labels/${sentiment}`, { labelIds: [labels.positive] }));
      expect(first.revision).toBe('0');
      const stale = await refused(call('PUT', `/api/projects/${projectId}/records/r1/labels/${sentiment}`, { labelIds: [labels.negative], expectedRevision: '5' }), 409, 'stale_revision');
      expect(stale.error.details.currentRevision).toBe('0');
      await refused(call('PUT', `/api/projects/${projectId}/records/r1/labels/${sentiment}`, { labelIds: [labels.positive, labels.negative] }), 422, 'single_label_only');
      await refused(call('PUT', `/api/projects/${projectId}/records/r1/labels/${sentiment}`, { labelIds: [labels.ORG] }), 422, 'unknown_label');
      await refused(call('PUT', `/api/projects/${projectId}/records/r1/labels/${sentiment}`, { labelIds: ['x'] }), 422, 'unknown_label');
      await refused(call('PUT', `/api/projects/${projectId}/records/missing/labels/${sentiment}`, { labelIds: [labels.positive] }), 404, 'record_not_found');

      await refused(call('PUT', `/api/projects/${projectId}/records/r1/labels/${entities}`, { spans: [{ labelId: labels.ORG, start: 20, end: 40 }] }), 422, 'span_out_of_range');
      await refused(
        call('PUT', `/api/projects/${projectId}/records/r1/labels/${entities}`, {
          spans: [
            { labelId: labels.ORG, start: 0, end: 9 },
            { labelId: labels.LOC, start: 5, end: 12 },
          ],
        }),
        422,
        'span_overlap',
      );
      await ok(
        call('PUT', `/api/projects/${projectId}/records/r1/labels/${entities}`, {
          spans: [
            { labelId: labels.LOC, start: 19, end: 25 },
            { labelId: labels.ORG, start: 0, end: 9 },
          ],
        }),
      );
      const read = await ok(call('GET', `/api/projects/${projectId}/records/r1/labels?after=${last}`));
      expect(read.revision).toBe('1');
      const manual = read.answers.filter((a: { source: string }) => a.source === 'manual');
      expect(manual).toHaveLength(2);
      const spans = manual.find((a: { taskId: string }) => a.taskId === entities).spans;
      expect(spans).toEqual([
        { labelId: labels.ORG, start: 0, end: 9, tokenStart: 0, tokenEnd: 2 },
        { labelId: labels.LOC, start: 19, end: 25, tokenStart: 4, tokenEnd: 5 },
      ]);
      const ref = read.answers.find((a: { source: string; taskId: string }) => a.source === 'reference' && a.taskId === sentiment);
      expect(ref).toMatchObject({ annotator: 'single', labelIds: [labels.positive] });
      const tokens = await ok(call('GET', `/api/projects/${projectId}/records/r1/tokens?attribute=text`));
      expect(tokens.tokens.map((t: { text: string }) => t.text)).toEqual(['Acme', 'Corp', 'ships', 'to', 'Berlin', '.']);
    });

    it('gold decisions become the reference; merging and deleting labels carry existing labels along', async () => {
      await ok(call('PUT', `/api/projects/${projectId}/records/r2/labels/${sentiment}`, { labelIds: [labels.neutral] }));
      await ok(call('PUT', `/api/projects/${projectId}/records/r2/gold/${sentiment}`, { labelIds: [labels.negative] }));
      let r2 = await ok(call('GET', `/api/projects/${projectId}/records/r2/labels?after=${last}`));
      expect(r2.reference).toEqual([{ taskId: sentiment, basis: 'gold', disagreement: false, annotators: 1 }]);
      expect(r2.answers.find((a: { source: string }) => a.source === 'reference').labelIds).toEqual([labels.negative]);

      await ok(call('POST', `/api/projects/${projectId}/tasks/${sentiment}/labels/merge`, { sourceLabelIds: [labels.neutral], targetLabelId: labels.negative }));
      r2 = await ok(call('GET', `/api/projects/${projectId}/records/r2/labels?after=${last}`));
      expect(r2.answers.find((a: { source: string }) => a.source === 'manual').labelIds).toEqual([labels.negative]);
      const config = await ok(call('GET', `/api/projects/${projectId}/tasks?after=${last}`));
      expect(config.tasks[0].labels.map((l: { name: string }) => l.name)).toEqual(['positive', 'negative']);

      await ok(call('DELETE', `/api/projects/${projectId}/records/r2/gold/${sentiment}`));
      await ok(call('DELETE', `/api/projects/${projectId}/tasks/${sentiment}/labels/${labels.negative}`));
      r2 = await ok(call('GET', `/api/projects/${projectId}/records/r2/labels?after=${last}`));
      expect(r2.answers.filter((a: { taskId: string }) => a.taskId === sentiment)).toEqual([]);
      expect(r2.reference).toEqual([]);
      await refused(call('PUT', `/api/projects/${projectId}/records/r2/labels/${sentiment}`, { labelIds: [labels.negative] }), 422, 'unknown_label');
    });

    it('comments are kept per record and can be deleted', async () => {
      const c = await ok(call('POST', `/api/projects/${projectId}/records/r3/comments`, { body: 'Is this **German**? <script>x</script>' }), 201);
      let read = await ok(call('GET', `/api/projects/${projectId}/records/r3/labels?after=${last}`));
      expect(read.comments).toHaveLength(1);
      expect(read.comments[0].body).toBe('Is this **German**? <script>x</script>'); // stored as written; clients render markdown safely
      await refused(call('POST', `/api/projects/${projectId}/records/r3/comments`, { body: '   ' }), 400, 'invalid_request');
      await ok(call('DELETE', `/api/projects/${projectId}/records/r3/comments/${c.id}`));
      read = await ok(call('GET', `/api/projects/${projectId}/records/r3/labels?after=${last}`));
      expect(read.comments).toEqual([]);
      expect(recordIds).toContain('r3');
    });
  });
}
