import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectStreamId } from '@refinery/events';
import { testBackends } from '@refinery/events/testing';
import { startTestApi, type Json, type TestApi } from '../test/product.ts';
import { LabelingState } from './features/labeling.ts';

const ADMIN_TOKEN = 'rfy_labeling-state-int-spec-admin-token-0123';

/**
 * The API caches folded project and record streams between requests. A second API process
 * (here: a second LabelingState on the same database) makes those caches stale; every answer
 * must still be the one a fresh read would give.
 */
for (const backend of testBackends()) {
  describe(`label writes with a stale cache on ${backend.name}`, () => {
    let t: TestApi;
    let other: LabelingState;
    let projectId: string;
    let taskId: string;
    let me: string;
    const labels: Record<string, string> = {};

    const ok = async (p: Promise<{ status: number; body: Json }>, status = 200): Promise<Json> => {
      const r = await p;
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      return r.body;
    };
    const put = (body: unknown, recordId = 'r1') => t.call('PUT', `/api/projects/${projectId}/records/${recordId}/labels/${taskId}`, body);
    /** the other process labels r1 as the same annotator */
    const otherLabels = (labelId: string) =>
      other.recordCommand(projectId, 'r1', me, () => ({ type: 'LabelRecord', projectId, recordId: 'r1', taskId, annotator: me, labelIds: [labelId] }));

    beforeAll(async () => {
      t = await startTestApi(backend, { adminToken: ADMIN_TOKEN, config: { readWaitMs: 10_000 } });
      other = new LabelingState({ store: t.platform.store, db: t.platform.db });
      me = (await ok(t.call('GET', '/api/auth/me'))).user.id;
      projectId = (await ok(t.call('POST', '/api/projects', { name: 'Cache' }), 201)).id;
      const imported = await ok(t.call('POST', `/api/projects/${projectId}/imports?primaryKey=id`, '{"id":"r1","text":"a"}\n{"id":"r2","text":"b"}', { 'content-type': 'application/x-ndjson' }), 201);
      taskId = (await ok(t.call('POST', `/api/projects/${projectId}/tasks`, { name: 'Sentiment', kind: 'single_label' }), 201)).id;
      for (const name of ['pos', 'neg', 'neu']) labels[name] = (await ok(t.call('POST', `/api/projects/${projectId}/tasks/${taskId}/labels`, { name }), 201)).id;
      await ok(t.call('GET', `/api/projects/${projectId}/records?limit=1&after=${imported.position}`));
    });
    afterAll(() => t.close());

    it('a write without an expected revision succeeds after another process appended (no spurious 409)', async () => {
      expect((await ok(put({ labelIds: [labels.pos] }))).revision).toBe('0'); // the API now caches revision 0
      expect((await otherLabels(labels.neg!)).revision).toBe('1');
      expect((await ok(put({ labelIds: [labels.neu] }))).revision).toBe('2');
    });

    it('"nothing changed" is only answered after checking the stream: the cached answer may be outdated', async () => {
      expect((await otherLabels(labels.pos!)).revision).toBe('3'); // the API still believes the answer is "neu" at revision 2
      const again = await ok(put({ labelIds: [labels.neu] }));
      expect(again.revision).toBe('4');
      const view = await ok(t.call('GET', `/api/projects/${projectId}/records/r1/labels?after=${again.position}`));
      expect(view.revision).toBe('4');
      expect(view.answers.find((a: Json) => a.source === 'manual').labelIds).toEqual([labels.neu]);
      // and a true repetition is a no-op naming the current revision
      expect((await ok(put({ labelIds: [labels.neu] }))).revision).toBe('4');
    });

    it('an expected revision is checked against the stream, not the cache: stale is 409 naming the current one, current succeeds', async () => {
      expect((await otherLabels(labels.neg!)).revision).toBe('5');
      const stale = await t.call('PUT', `/api/projects/${projectId}/records/r1/labels/${taskId}`, { labelIds: [labels.pos], expectedRevision: '4' });
      expect(stale.status).toBe(409);
      expect(stale.body.error.details.currentRevision).toBe('5');
      expect((await otherLabels(labels.neu!)).revision).toBe('6');
      expect((await ok(put({ labelIds: [labels.pos], expectedRevision: '6' }))).revision).toBe('7');
    });

    it('a comment added by another process can be deleted here', async () => {
      const comment = await other.recordCommand(projectId, 'r1', me, () => ({ type: 'CommentRecord', projectId, recordId: 'r1', commentId: '7d1c9a52-3c1e-4b8e-9a43-0d6c6f5f0b11', body: 'from elsewhere' }));
      expect(comment.revision).toBe('8');
      const deleted = await ok(t.call('DELETE', `/api/projects/${projectId}/records/r1/comments/7d1c9a52-3c1e-4b8e-9a43-0d6c6f5f0b11`));
      expect(deleted.revision).toBe('9');
    });

    it('a label removed by another process is refused at once (the project stream is re-validated on every write)', async () => {
      expect((await ok(put({ labelIds: [labels.neu] }, 'r2'))).revision).toBe('0'); // caches the configuration with "neu"
      const revision = await t.platform.store.streamRevision(projectStreamId(projectId));
      await t.platform.store.append(projectStreamId(projectId), [{ type: 'LabelRemoved', data: { projectId, taskId, labelId: labels.neu } }], { actor: me, expectedRevision: revision! });
      const refused = await t.call('PUT', `/api/projects/${projectId}/records/r2/labels/${taskId}`, { labelIds: [labels.neu] });
      expect(refused.status).toBe(422);
      expect(refused.body.error.code).toBe('unknown_label');
    });
  });
}
