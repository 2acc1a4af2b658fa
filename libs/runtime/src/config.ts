import path from 'node:path';

/** Everything configurable, read from the environment once at start (documented in docs/configuration.md). */
export interface RuntimeConfig {
  /** HTTP port; 0 picks a free one */
  port: number;
  host: string;
  /** PostgreSQL server; unset = embedded PGlite under dataDir */
  databaseUrl: string | undefined;
  dataDir: string;
  databaseMaxConnections: number;
  maxUploadBytes: number;
  readWaitMs: number;
  projectorLeaseMs: number;
}

export class ConfigError extends Error {
  constructor(variable: string, value: string, allowed: string) {
    super(`${variable}="${value}" is not valid: ${allowed}`);
    this.name = 'ConfigError';
  }
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(name, raw, `an integer from ${min} to ${max}`);
  return n;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL', databaseUrl, 'a postgres:// or postgresql:// connection string');
  }
  return {
    port: integer(env, 'PORT', 4455, 0, 65535),
    host: env.HOST || '127.0.0.1',
    databaseUrl,
    dataDir: path.resolve(env.DATA_DIR || './data'),
    databaseMaxConnections: integer(env, 'DATABASE_MAX_CONNECTIONS', 10, 1, 1000),
    maxUploadBytes: integer(env, 'REFINERY_MAX_UPLOAD_BYTES', 200 * 1024 * 1024, 1024, 4 * 1024 * 1024 * 1024),
    readWaitMs: integer(env, 'REFINERY_READ_WAIT_MS', 10_000, 0, 300_000),
    projectorLeaseMs: integer(env, 'REFINERY_PROJECTOR_LEASE_MS', 10_000, 500, 600_000),
  };
}
