// Scale-out mode: the API as its own process against DATABASE_URL (projections run in apps/projector).
import { loadConfig, openPlatform } from '@refinery/runtime';
import { startApiServer } from './server.ts';

const config = loadConfig();
if (!config.databaseUrl) {
  console.error('apps/api runs on its own only against a PostgreSQL server: set DATABASE_URL (the embedded mode is `refinery start`).');
  process.exit(2);
}
const platform = await openPlatform(config);
const api = await startApiServer(platform, config);
console.log(`refinery API listening at ${api.url}`);
const shutdown = async () => {
  await api.close();
  await platform.close();
  process.exit(0);
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
