// Scale-out mode: the projector as its own process against DATABASE_URL.
import { loadConfig, openPlatform } from '@refinery/runtime';
import { startProjector } from './index.ts';

const config = loadConfig();
if (!config.databaseUrl) {
  console.error('apps/projector runs on its own only against a PostgreSQL server: set DATABASE_URL (the embedded mode is `refinery start`).');
  process.exit(2);
}
const platform = await openPlatform(config);
const projector = await startProjector(platform, { leaseMs: config.projectorLeaseMs });
console.log(`projector ${projector.runner.instanceId} running ${projector.runner.projections.map((p) => p.name).join(', ')}`);
const shutdown = async () => {
  await projector.stop();
  await platform.close();
  process.exit(0);
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
