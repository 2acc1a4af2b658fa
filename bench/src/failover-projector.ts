/**
 * Child process of the failover benchmark: what `refinery projector` runs (every read model,
 * lease settings from the environment, REFINERY_PROJECTOR_LEASE_MS) plus one probe projection
 * that writes a row per event it applies, with no unique key, so an event applied twice shows up
 * as two rows and the time each event was applied (database clock) and by whom is on record.
 */
import { ProjectionRunner, type Projection } from '@refinery/projector';
import { startProjector } from '@refinery/projector-app';
import { loadConfig, openPlatform } from '@refinery/runtime';

/** read by failover.bench.ts (not imported from here: importing this file starts a projector) */
const PROBE_TABLE = 'bench_failover_probe';

const probe = (instance: () => string): Projection => ({
  name: 'failover_probe',
  version: 1,
  handles: ['RecordsImported'],
  async setup(sql) {
    await sql.exec(`create table if not exists ${PROBE_TABLE} (event_id uuid not null, instance text not null, applied_at timestamptz not null)`);
  },
  async reset(sql) {
    await sql.exec(`delete from ${PROBE_TABLE}`);
  },
  async apply(tx, events) {
    await tx.query(
      `insert into ${PROBE_TABLE} (event_id, instance, applied_at) select id::uuid, $2, clock_timestamp() from jsonb_array_elements_text($1::jsonb) as id`,
      [JSON.stringify(events.map((e) => e.id)), instance()],
    );
  },
});

async function main(): Promise<void> {
  const config = loadConfig();
  const platform = await openPlatform(config);
  // The product's projector (startProjector) and the probe in a runner of its own with the same lease.
  const product = await startProjector(platform, { leaseMs: config.projectorLeaseMs });
  const id = product.runner.instanceId;
  const probeRunner = new ProjectionRunner(platform.db, platform.store, [probe(() => id)], { instanceId: `${id}-probe`, leaseMs: config.projectorLeaseMs });
  await probeRunner.start();
  console.log(`failover projector ${id} lease ${config.projectorLeaseMs} ms`);
  process.once('SIGTERM', () => {
    void (async () => {
      await probeRunner.stop();
      await product.stop();
      await platform.close();
      process.exit(0);
    })();
  });
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

