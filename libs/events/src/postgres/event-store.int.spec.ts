import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { WrongExpectedRevisionError } from '../store.ts';
import { eventStoreContract, contractCatalog } from '../testing/contract.ts';
import { openPostgres } from './pg-driver.ts';
import { testBackends } from '../testing/databases.ts';
import { PostgresEventStore } from './event-store.ts';
import type { SqlDatabase } from '../sql.ts';

for (const backend of testBackends()) {
  let db: SqlDatabase;
  let store: PostgresEventStore;
  eventStoreContract(backend.name, {
    async open() {
      db = await backend.open();
      store = await PostgresEventStore.open(db, { catalog: contractCatalog });
      return store;
    },
    async close() {
      await store.close();
      await backend.cleanup();
    },
    async writeRawV1Note(streamId, text) {
      await db.query(
        `insert into events (id, stream_id, revision, type, schema, data, meta)
         values (gen_random_uuid(), $1, 0, 'ContractNoted', 1, $2::jsonb, '{"actor":"legacy","at":"2020-01-01T00:00:00.000Z"}')`,
        [streamId, JSON.stringify({ text })],
      );
      await db.query(`insert into streams (stream_id, revision) values ($1, 0)`, [streamId]);
    },
  });
}

// Appends are announced to other processes by NOTIFY, sent by the append statement itself.
const serverUrl = process.env.TEST_DATABASE_URL;
describe.skipIf(!serverUrl)('postgres server: appends reach stores in other processes', () => {
  it('an append through one pool wakes a store on another pool, which then reads it', async () => {
    const name = `refinery_t_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`create database ${name}`);
    const u = new URL(serverUrl!);
    u.pathname = `/${name}`;
    const [dbA, dbB] = [await openPostgres(u.toString(), { maxConnections: 2 }), await openPostgres(u.toString(), { maxConnections: 2 })];
    const a = await PostgresEventStore.open(dbA, { catalog: contractCatalog });
    const b = await PostgresEventStore.open(dbB, { catalog: contractCatalog });
    try {
      const before = await b.head();
      let woken = 0;
      const announced = new Promise<void>((resolve) => b.onAppended(() => (woken++, resolve())));
      const r = await a.append('notify-1', [{ type: 'ContractTicked', data: { n: 1 } }], { actor: 'test', expectedRevision: 'no_stream' });
      await Promise.race([announced, new Promise((_, reject) => setTimeout(() => reject(new Error('no NOTIFY within 5 s')), 5000))]);
      expect(woken).toBeGreaterThanOrEqual(1);
      const read = await b.readAll(before);
      expect(read.events.map((e) => e.position)).toEqual([r.position]);
      // A refused append (stale revision) announces nothing and writes nothing.
      woken = 0;
      await expect(a.append('notify-1', [{ type: 'ContractTicked', data: { n: 2 } }], { actor: 'test', expectedRevision: 5n })).rejects.toBeInstanceOf(WrongExpectedRevisionError);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(woken).toBe(0);
      expect(await b.readStream('notify-1')).toHaveLength(1);
    } finally {
      await a.close();
      await b.close();
      await dbA.close();
      await dbB.close();
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    }
  });
});
