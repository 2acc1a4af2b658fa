/**
 * Dev loop for the rebuild / as-of benches: fills `DEV_DATABASE_URL` once (if it has no events)
 * and then rebuilds (or opens an as-of view) on it, without the 50-s fill of the real benches.
 *   DEV_DATABASE_URL=postgres://…/refinery_dev6 tsx bench/src/rebuild-dev.ts rebuild [names…]
 *   DEV_DATABASE_URL=… tsx bench/src/rebuild-dev.ts as-of 1
 */
import { openPostgres, PostgresEventStore, catalog, SqlArtifactStore } from '@refinery/events';
import { closeAsOfViews, openAsOf, rebuildReadModels, waitForHead } from '@refinery/audit';
import { BENCH_PROJECT, fillAuditLog } from './lib/audit-log.ts';
import { loadavg } from './lib/machine.ts';

async function main(): Promise<void> {
  const [mode, ...rest] = process.argv.slice(2);
  const db = await openPostgres(process.env['DEV_DATABASE_URL']!, { maxConnections: 20 });
  const has = await db.query<{ n: number }>(`select count(*)::int as n from pg_tables where tablename = 'events'`);
  const count = has.rows[0]!.n ? (await db.query<{ n: number }>('select count(*)::int as n from events')).rows[0]!.n : 0;
  if (count === 0) await fillAuditLog(db, { events: 1_000_000, records: 100_000, annotators: 20, otherShare: 0.1 });
  const store = await PostgresEventStore.open(db, { catalog });
  const last = await db.query<{ p: string }>(`select tx_id::text || '/' || position::text as p from events order by tx_id desc, position desc limit 1`);
  await waitForHead(store, last.rows[0]!.p, 600_000);
  const load0 = loadavg();
  const t0 = performance.now();
  if (mode === 'rebuild') {
    const r = await rebuildReadModels({ db, store }, rest.length ? rest : 'all');
    console.log(JSON.stringify(r.map((x) => [x.name, Math.round(x.seconds * 10) / 10])));
  } else {
    const fraction = Number(rest[0] ?? 1);
    const first = await db.query<{ a: string; b: string }>(`select min(meta->>'at') as a, max(meta->>'at') as b from events`);
    const a = Date.parse(first.rows[0]!.a);
    const b = Date.parse(first.rows[0]!.b);
    const time = new Date(a + (b - a) * fraction).toISOString();
    const view = await openAsOf({ store, db, artifacts: new SqlArtifactStore(db) }, BENCH_PROJECT, { time });
    const n = await view.db.query<{ n: number }>('select count(*)::int as n from rm_record_labels');
    console.log('labels', n.rows[0]!.n);
    await view.close();
    await closeAsOfViews(store);
  }
  console.log(`${mode} ${((performance.now() - t0) / 1000).toFixed(1)} s load ${JSON.stringify(load0)} → ${JSON.stringify(loadavg())}`);
  await store.close();
  await db.close();
}
main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
