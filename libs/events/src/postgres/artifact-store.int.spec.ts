import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../testing/databases.ts';
import { migrateEventStore } from './schema.ts';
import { SqlArtifactStore, sha256Hex } from './artifact-store.ts';
import type { SqlDatabase } from '../sql.ts';

for (const backend of testBackends()) {
  describe(`artifact store on ${backend.name}`, () => {
    let db: SqlDatabase;
    let artifacts: SqlArtifactStore;
    beforeAll(async () => {
      db = await backend.open();
      await migrateEventStore(db);
      artifacts = new SqlArtifactStore(db);
    });
    afterAll(() => backend.cleanup());

    it('stores content once under its SHA-256 and returns the same bytes (multi-chunk)', async () => {
      const bytes = randomBytes(9 * 1024 * 1024 + 17); // three chunks
      const hash = await artifacts.put(bytes, 'text/csv');
      expect(hash).toBe(sha256Hex(bytes));
      expect(await artifacts.put(bytes, 'text/csv')).toBe(hash);
      const r = await db.query<{ n: string }>('select count(*)::text as n from artifact_chunks where hash = $1', [hash]);
      expect(r.rows[0]!.n).toBe('3');
      const back = await artifacts.get(hash);
      expect(back?.contentType).toBe('text/csv');
      expect(Buffer.compare(Buffer.from(back!.bytes), bytes)).toBe(0);
    });

    it('handles empty content and unknown hashes', async () => {
      const hash = await artifacts.put(new Uint8Array(0));
      expect((await artifacts.get(hash))?.bytes.byteLength).toBe(0);
      expect(await artifacts.get('0'.repeat(64))).toBeUndefined();
      expect(await artifacts.has('0'.repeat(64))).toBe(false);
    });

    it('detects a tampered chunk', async () => {
      const hash = await artifacts.put(Buffer.from('original content'));
      await db.query(`update artifact_chunks set bytes = convert_to('tampered content', 'UTF8') where hash = $1`, [hash]);
      await expect(artifacts.get(hash)).rejects.toThrow(/corrupted/);
    });
  });
}
