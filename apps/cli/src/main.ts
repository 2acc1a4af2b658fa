#!/usr/bin/env node
import { ConfigError } from '@refinery/runtime';
import { runRole } from './roles.ts';
import { start } from './start.ts';
import { AuditError } from '@refinery/audit';
import { UsageError } from './audit-args.ts';
import { replay, REPLAY_USAGE } from './replay.ts';
import { log, LOG_USAGE } from './log.ts';
import { verify, VERIFY_USAGE } from './verify.ts';

const USAGE = `refinery <command>

Commands:
  start       run the product (API, projector, workers and web app) in one process;
              embedded PGlite under DATA_DIR (default ./data) unless DATABASE_URL is set
  api         scale-out: only the HTTP API (needs DATABASE_URL)
  projector   scale-out: only the projections (needs DATABASE_URL; run several for failover)
  workers     scale-out: only the reactors (needs DATABASE_URL)
  replay      rebuild read models from the log (docs/audit.md)
  log         export / import the log as a verifiable file (docs/audit.md)
  verify      check a log export's SHA-256 chain

Environment: PORT (4455), HOST (127.0.0.1), DATA_DIR, DATABASE_URL, REFINERY_MAX_UPLOAD_BYTES,
REFINERY_READ_WAIT_MS. See docs/configuration.md.`;

async function main(argv: string[]): Promise<void> {
  const [command] = argv;
  switch (command) {
    case 'start':
      return start();
    case 'api':
    case 'projector':
    case 'workers':
      return runRole(command);
    case 'replay':
      return replay(argv.slice(1));
    case 'log':
      return log(argv.slice(1));
    case 'verify':
      return verify(argv.slice(1));
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return;
    default:
      console.error(`unknown command "${command}"\n\n${USAGE}`);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError) {
    console.error(`${err.message}\n\n${[REPLAY_USAGE, LOG_USAGE, VERIFY_USAGE].join('\n')}`);
    process.exit(2);
  }
  if (err instanceof AuditError) {
    console.error(`refused: ${err.message}`);
    process.exit(1);
  }
  if (err instanceof ConfigError) console.error(`configuration error: ${err.message}`);
  else console.error(err);
  process.exit(1);
});
