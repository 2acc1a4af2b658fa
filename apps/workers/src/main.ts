// Scale-out mode: reactors as their own process against DATABASE_URL.
import { loadConfig, openPlatform } from '@refinery/runtime';
import { startWorkers } from './index.ts';

const config = loadConfig();
if (!config.databaseUrl) {
  console.error('apps/workers runs on its own only against a PostgreSQL server: set DATABASE_URL (the embedded mode is `refinery start`).');
  process.exit(2);
}
const platform = await openPlatform(config);
const workers = await startWorkers(platform);
console.log(`workers running ${workers.reactors.length} reactor(s): ${workers.reactors.map((r) => r.name).join(', ') || '(none in this build)'}`);
const shutdown = async () => {
  await workers.stop();
  await platform.close();
  process.exit(0);
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
