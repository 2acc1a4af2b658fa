import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bootstrapAnnouncement, startApiServer } from '@refinery/api';
import { startProjector } from '@refinery/projector-app';
import { startWorkers } from '@refinery/workers';
import { loadConfig, openPlatform } from '@refinery/runtime';

/** Where the built web app is: beside the bundle in a checkout, or REFINERY_WEB_DIR. */
export function webDir(): string | undefined {
  if (process.env.REFINERY_WEB_DIR) return process.env.REFINERY_WEB_DIR;
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const candidate of [path.resolve(here, '../../web/dist'), path.resolve(here, '../../../apps/web/dist')]) {
    if (existsSync(path.join(candidate, 'index.html'))) return candidate;
  }
  return undefined;
}

/** `refinery start`: api + projector + workers in one process (embedded PGlite unless DATABASE_URL is set). */
export async function start(): Promise<void> {
  const startedAt = Date.now();
  const config = loadConfig();
  const platform = await openPlatform(config);
  const projector = await startProjector(platform, { leaseMs: config.projectorLeaseMs });
  const workers = await startWorkers(platform, config.kafka ? { relay: config.kafka } : {});
  const web = webDir();
  const api = await startApiServer(platform, config, {
    ...(web ? { webDir: web } : {}),
    onAdvanced: (listener) => projector.runner.onAdvanced(listener),
    localCheckpoints: () => projector.runner.localCheckpoints(),
  });
  const where = platform.mode === 'embedded' ? `embedded database in ${config.dataDir}` : 'PostgreSQL server';
  // The first start prints the owner's credentials here, once; they are never logged anywhere else.
  const announcement = bootstrapAnnouncement(api.bootstrap, config.identity.ownerEmail);
  if (announcement) console.log(announcement);
  console.log(`Refinery is running at ${api.url} (${where}; started in ${Date.now() - startedAt} ms)`);
  if (config.kafka) console.log(`Kafka relay: publishing integration events to ${config.kafka.brokers.join(',')} (topics ${config.kafka.topicPrefix}*)`);
  if (!web) console.log('The web app is not built (run `npm run build`); serving the API only.');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: shutting down`);
    await api.close();
    await workers.stop();
    await projector.stop();
    await platform.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}
