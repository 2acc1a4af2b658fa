import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '@refinery/events/testing';
import { startTestApi, type TestApi } from '../test/product.ts';

const UPLOAD_LIMIT = 64 * 1024;
/** every request below is made as the first owner, through the token seeded by REFINERY_ADMIN_TOKEN */
const ADMIN_TOKEN = 'rfy_api-int-spec-admin-token-0123456789';

for (const backend of testBackends()) {
  describe(`API on ${backend.name}`, () => {
    let t: TestApi;
    beforeAll(async () => {
      t = await startTestApi(backend, { adminToken: ADMIN_TOKEN, config: { maxUploadBytes: UPLOAD_LIMIT, readWaitMs: 5_000 } });
    });
    afterAll(() => t.close());
    const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => t.call(method, path, body, headers);
    const upload = (projectId: string, content: string | Uint8Array, type: string, query = '') =>
      call('POST', `/api/projects/${projectId}/imports${query}`, content, { 'content-type': type });
    async function newProject(name = 'Spam detection') {
      const r = await call('POST', '/api/projects', { name });
      expect(r.status).toBe(201);
      return r.body as { id: string; revision: string; position: string };
    }
    const expectError = (r: { status: number; body: { error: { code: string; message: unknown; details: unknown } } }, status: number, code: string) => {
      expect(r.status).toBe(status);
      expect(r.body.error.code).toBe(code);
      expect(typeof r.body.error.message).toBe('string');
      expect(typeof r.body.error.details).toBe('object');
    };

    it('creates, lists, renames and deletes projects, reading its own writes', async () => {
      const created = await newProject('  Reviews ');
      expect(created.revision).toBe('0');
      const list = await call('GET', `/api/projects?after=${created.position}`);
      expect(list.body.projects.some((p: { id: string; name: string }) => p.id === created.id && p.name === 'Reviews')).toBe(true);

      const renamed = await call('PATCH', `/api/projects/${created.id}`, { name: 'Product reviews', expectedRevision: '0' });
      expect(renamed.status).toBe(200);
      expect(renamed.body.revision).toBe('1');
      const stale = await call('PATCH', `/api/projects/${created.id}`, { name: 'Other', expectedRevision: '0' });
      expectError(stale, 409, 'stale_revision');
      expect(stale.body.error.details.currentRevision).toBe('1');
      const one = await call('GET', `/api/projects/${created.id}?after=${renamed.body.position}`);
      expect(one.body.name).toBe('Product reviews');

      const deleted = await call('DELETE', `/api/projects/${created.id}`);
      expect(deleted.status).toBe(200);
      expectError(await call('GET', `/api/projects/${created.id}?after=${deleted.body.position}`), 404, 'project_not_found');
      expectError(await call('DELETE', `/api/projects/${created.id}`), 410, 'project_deleted');
      expectError(await upload(created.id, 'a\n1\n', 'text/csv'), 410, 'project_deleted');
    });

    it('imports CSV with inferred types and pages through records with a cursor', async () => {
      const p = await newProject();
      const rows = Array.from({ length: 120 }, (_, i) => `"Comment ${i + 1}, really",${i % 2 ? 'spam' : 'ham'},${i},${i / 4},${i % 3 === 0}`);
      const csv = ['text,label,n,score,flag', ...rows].join('\n');
      const imported = await upload(p.id, csv, 'text/csv; charset=utf-8', '?fileName=comments.csv');
      expect(imported.status).toBe(201);
      expect(imported.body.records).toBe(120);

      const project = await call('GET', `/api/projects/${p.id}?after=${imported.body.position}`);
      expect(project.body.recordCount).toBe(120);
      expect(project.body.attributes).toEqual([
        { name: 'text', type: 'text' },
        { name: 'label', type: 'category' },
        { name: 'n', type: 'integer' },
        { name: 'score', type: 'float' },
        { name: 'flag', type: 'boolean' },
      ]);

      const seen: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: { status: number; body: { records: { values: { n: number } }[]; total: number; nextCursor: string | null } } = await call(
          'GET',
          `/api/projects/${p.id}/records?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        expect(page.status).toBe(200);
        expect(page.body.total).toBe(120);
        seen.push(...page.body.records.map((r) => r.values.n));
        cursor = page.body.nextCursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen).toEqual(Array.from({ length: 120 }, (_, i) => i)); // import order, numerically

      const first = await call('GET', `/api/projects/${p.id}/records?limit=1`);
      const record = first.body.records[0];
      const single = await call('GET', `/api/projects/${p.id}/records/${encodeURIComponent(record.id)}`);
      expect(single.body).toEqual(record);
      expect(single.body.values).toEqual({ text: 'Comment 1, really', label: 'ham', n: 0, score: 0, flag: true });
      expectError(await call('GET', `/api/projects/${p.id}/records/nope`), 404, 'record_not_found');
    });

    it('imports JSONL and JSON arrays with a primary key', async () => {
      const p = await newProject();
      const jsonl = ['{"id":"a","text":"hello"}', '', '{"id":"b","text":"world"}'].join('\n');
      const r1 = await upload(p.id, jsonl, 'application/x-ndjson', '?primaryKey=id');
      expect(r1.status).toBe(201);
      const json = JSON.stringify([{ id: 'c', text: 'again', extra: 1.5 }]);
      const r2 = await upload(p.id, json, 'application/json', '?primaryKey=id');
      expect(r2.status).toBe(201);
      const rec = await call('GET', `/api/projects/${p.id}/records/b?after=${r2.body.position}`);
      expect(rec.body.values).toEqual({ id: 'b', text: 'world' });
      const project = await call('GET', `/api/projects/${p.id}?after=${r2.body.position}`);
      expect(project.body.recordCount).toBe(3);
      expect(project.body.attributes.map((a: { name: string }) => a.name)).toEqual(['id', 'text', 'extra']);
      // a key that already exists in the project is refused, and nothing lands
      expectError(await upload(p.id, '{"id":"a","text":"dup"}\n{"id":"z","text":"new"}', 'application/x-ndjson', '?primaryKey=id'), 422, 'duplicate_primary_key');
      expect((await call('GET', `/api/projects/${p.id}`)).body.recordCount).toBe(3);
    });

    it('refuses bad files with the error shape, changes nothing, and keeps serving', async () => {
      const p = await newProject();
      const ok = await upload(p.id, 'text,n\nfirst,1\n', 'text/csv');
      expect(ok.status).toBe(201);
      const cases: [string | Uint8Array, string, number, string, Record<string, unknown>?][] = [
        ['text,n\nfine,1\nbroken\n', 'text/csv', 422, 'inconsistent_columns', { line: 3 }],
        ['text,n\n"unclosed,1\n', 'text/csv', 422, 'malformed_csv'],
        ['{"text":"a"}\n{"text": nope}\n', 'application/x-ndjson', 422, 'malformed_json', { line: 2 }],
        ['', 'text/csv', 422, 'empty_file'],
        [new Uint8Array([0x74, 0x65, 0x78, 0x74, 0x0a, 0xff, 0xfe, 0x0a]), 'text/csv', 422, 'invalid_utf8', { line: 2 }],
        ['id,text\n1,a\n1,b\n', 'text/csv', 422, 'duplicate_primary_key'],
        ['text,n\nx,1.5\n', 'text/csv', 422, 'attribute_type_conflict'],
        ['x'.repeat(UPLOAD_LIMIT + 10), 'text/csv', 413, 'file_too_large'],
        ['<xml/>', 'application/xml', 415, 'unsupported_media_type'],
      ];
      for (const [content, type, status, code, details] of cases) {
        const query = code === 'duplicate_primary_key' ? '?primaryKey=id' : '';
        const r = await upload(p.id, content, type, query);
        expectError(r, status, code);
        if (details) expect(r.body.error.details).toMatchObject(details);
      }
      const after = await call('GET', `/api/projects/${p.id}?after=${ok.body.position}`);
      expect(after.body.recordCount).toBe(1);
      expect(after.body.attributes).toEqual([
        { name: 'text', type: 'category' }, // a single short value: low cardinality
        { name: 'n', type: 'integer' },
      ]);
      expect((await call('GET', '/healthz')).status).toBe(200);
    });

    it('validates requests and positions', async () => {
      expectError(await call('POST', '/api/projects', { name: '' }), 400, 'invalid_request');
      expectError(await call('POST', '/api/projects', { name: 'x'.repeat(101) }), 400, 'invalid_request');
      expectError(await call('POST', '/api/projects', 'name=x', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'unsupported_media_type');
      expectError(await call('POST', '/api/projects', '{"name":', { 'content-type': 'application/json' }), 400, 'malformed_json');
      expectError(await call('GET', '/api/projects/not-a-uuid'), 400, 'invalid_request');
      expectError(await call('GET', '/api/projects?after=garbage'), 400, 'invalid_request');
      expectError(await call('GET', '/api/projects?after=99999999999/1'), 400, 'position_not_in_log');
      const p = await newProject();
      expectError(await call('GET', `/api/projects/${p.id}/records?cursor=bogus&after=${p.position}`), 400, 'invalid_cursor');
      expectError(await call('GET', `/api/projects/${p.id}/records?limit=0`), 400, 'invalid_request');
      expectError(await call('GET', '/api/no-such-route'), 404, 'route_not_found');
    });

    it('serves an OpenAPI 3.1 document covering every route, and readiness', async () => {
      const doc = await call('GET', '/api/openapi.json');
      expect(doc.body.openapi).toBe('3.1.0');
      expect(Object.keys(doc.body.paths)).toEqual(
        expect.arrayContaining(['/api/projects', '/api/projects/{id}', '/api/projects/{id}/imports', '/api/projects/{id}/records', '/api/projects/{id}/records/{recordId}', '/healthz', '/readyz']),
      );
      expect(doc.body.paths['/api/projects/{id}/records'].get.parameters.map((x: { name: string }) => x.name)).toEqual(
        expect.arrayContaining(['id', 'limit', 'cursor', 'after']),
      );
      const ready = await call('GET', '/readyz');
      expect(ready.status).toBe(200);
      expect(ready.body.status).toBe('ready');
    });
  });
}
