import { eventStoreContract, contractCatalog } from '../testing/contract.ts';
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
