import { bootstrapAnnouncement, startApiServer } from '@refinery/api';
import { startProjector } from '@refinery/projector-app';
import { startWorkers } from '@refinery/workers';
import { loadConfig, openPlatform, type RuntimeConfig } from '@refinery/runtime';
import { webDir } from './start.ts';

/**
 * Scale-out mode: each app as its own process against one PostgreSQL server. Several API and
 * projector processes may run; one projector instance is active per projection at a time.
 */
export type Role = 'api' | 'projector' | 'workers';

function serverConfig(role: Role): RuntimeConfig {
  const config = loadConfig();
  if (!config.databaseUrl) {
    console.error(`refinery ${role} runs on its own only against a PostgreSQL server: set DATABASE_URL (embedded mode is \`refinery start\`).`);
    process.exit(2);
  }
  return config;
}

export async function runRole(role: Role): Promise<void> {
  const config = serverConfig(role);
  const platform = await openPlatform(config);
  let stop: () => Promise<void>;
  switch (role) {
    case 'api': {
      const web = webDir();
      const api = await startApiServer(platform, config, web ? { webDir: web } : {});
      const announcement = bootstrapAnnouncement(api.bootstrap, config.identity.ownerEmail);
      if (announcement) console.log(announcement);
      console.log(`refinery api listening at ${api.url}`);
      stop = api.close;
      break;
    }
    case 'projector': {
      const projector = await startProjector(platform, { leaseMs: config.projectorLeaseMs });
      console.log(`refinery projector ${projector.runner.instanceId}: ${projector.runner.projections.map((p) => p.name).join(', ')}`);
      stop = projector.stop;
      break;
    }
    case 'workers': {
      const workers = await startWorkers(platform, config.kafka ? { relay: config.kafka } : {});
      console.log(`refinery workers: ${workers.reactors.map((r) => r.name).join(', ') || 'no reactors in this build'}`);
      if (config.kafka) console.log(`refinery workers: Kafka relay to ${config.kafka.brokers.join(',')} (topics ${config.kafka.topicPrefix}*)`);
      stop = workers.stop;
      break;
    }
  }
  const shutdown = async () => {
    await stop();
    await platform.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
}
