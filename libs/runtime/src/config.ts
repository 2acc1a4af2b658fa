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
  identity: IdentityConfig;
  /** the Kafka relay (docs/integrations.md); undefined = off (KAFKA_BROKERS unset) */
  kafka: KafkaConfig | undefined;
}

/** The Kafka relay's settings (docs/integrations.md). */
export interface KafkaConfig {
  /** KAFKA_BROKERS, comma-separated host:port */
  brokers: string[];
  /** KAFKA_TOPIC_PREFIX (default `refinery.`) */
  topicPrefix: string;
  /** KAFKA_CLIENT_ID (default `refinery-relay`) */
  clientId: string;
  /** KAFKA_TOPIC_PARTITIONS for topics the relay creates (default 6) */
  partitions: number;
  /** KAFKA_REPLICATION_FACTOR for topics the relay creates (default 1) */
  replicationFactor: number;
  /** REFINERY_KAFKA_MAX_MESSAGE_BYTES: larger messages are dead-lettered (default 1 000 000, below the broker's default 1 048 588) */
  maxMessageBytes: number;
}

/** Accounts and sessions (docs/identity.md). */
export interface IdentityConfig {
  /** e-mail of the owner account created on the first start; REFINERY_OWNER_EMAIL */
  ownerEmail: string;
  /** password of that account instead of a random one (tests, scripted installs); REFINERY_OWNER_PASSWORD */
  ownerPassword: string | undefined;
  /** an API token of the first owner with exactly this value (scripts, CI); REFINERY_ADMIN_TOKEN */
  adminToken: string | undefined;
  /** absolute lifetime of a browser session; REFINERY_SESSION_TTL_HOURS */
  sessionTtlHours: number;
  /** Ory Kratos instead of the built-in accounts (docs/identity.md); undefined = built-in accounts */
  kratos: KratosConfig | undefined;
}

/** Ory Kratos as the identity provider (docs/identity.md, "Ory Kratos"). */
export interface KratosConfig {
  /** ORY_SDK_URL: Kratos' public API as the API server reaches it, e.g. http://kratos:4433 */
  sdkUrl: string;
  /** ORY_BROWSER_URL: the same API as browsers reach it, for sign-in links (default ORY_SDK_URL) */
  browserUrl: string;
  /** ORY_TIMEOUT_MS: longest a session check may take before requests get 503 (default 5000) */
  timeoutMs: number;
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
    // 5 s: a killed projector's work resumes within about 6 s (bench/results/failover-2026-11-27.md).
    projectorLeaseMs: integer(env, 'REFINERY_PROJECTOR_LEASE_MS', 5_000, 500, 600_000),
    identity: identityConfig(env),
    kafka: kafkaConfig(env),
  };
}

function kafkaConfig(env: NodeJS.ProcessEnv): KafkaConfig | undefined {
  const raw = env.KAFKA_BROKERS?.trim();
  if (!raw) return undefined;
  const brokers = raw.split(',').map((b) => b.trim()).filter(Boolean);
  if (brokers.length === 0 || brokers.some((b) => !/^[A-Za-z0-9.-]+:\d{1,5}$/.test(b))) {
    throw new ConfigError('KAFKA_BROKERS', raw, 'a comma-separated list of host:port, e.g. 127.0.0.1:9092,kafka-2:9092');
  }
  const topicPrefix = env.KAFKA_TOPIC_PREFIX ?? 'refinery.';
  if (!/^[A-Za-z0-9._-]{0,200}$/.test(topicPrefix)) throw new ConfigError('KAFKA_TOPIC_PREFIX', topicPrefix, 'up to 200 characters of A-Z a-z 0-9 . _ -');
  const clientId = env.KAFKA_CLIENT_ID || 'refinery-relay';
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(clientId)) throw new ConfigError('KAFKA_CLIENT_ID', clientId, '1 to 200 characters of A-Z a-z 0-9 . _ -');
  return {
    brokers,
    topicPrefix,
    clientId,
    partitions: integer(env, 'KAFKA_TOPIC_PARTITIONS', 6, 1, 10_000),
    replicationFactor: integer(env, 'KAFKA_REPLICATION_FACTOR', 1, 1, 100),
    maxMessageBytes: integer(env, 'REFINERY_KAFKA_MAX_MESSAGE_BYTES', 1_000_000, 1024, 100 * 1024 * 1024),
  };
}

function identityConfig(env: NodeJS.ProcessEnv): IdentityConfig {
  const ownerEmail = (env.REFINERY_OWNER_EMAIL || 'owner@localhost').trim();
  if (!/^[^\s@]+@[^\s@]+$/.test(ownerEmail) || ownerEmail.length > 254) {
    throw new ConfigError('REFINERY_OWNER_EMAIL', ownerEmail, 'an e-mail address such as admin@example.com');
  }
  const ownerPassword = env.REFINERY_OWNER_PASSWORD || undefined;
  if (ownerPassword !== undefined && (ownerPassword.length < 8 || ownerPassword.length > 1024)) {
    throw new ConfigError('REFINERY_OWNER_PASSWORD', '(hidden)', 'a password of 8 to 1024 characters');
  }
  const adminToken = env.REFINERY_ADMIN_TOKEN || undefined;
  if (adminToken !== undefined && !/^[A-Za-z0-9._~+/=-]{24,256}$/.test(adminToken)) {
    throw new ConfigError('REFINERY_ADMIN_TOKEN', '(hidden)', '24 to 256 characters of A-Z a-z 0-9 . _ ~ + / = - (e.g. rfy_ followed by 43 random base64url characters)');
  }
  return { ownerEmail, ownerPassword, adminToken, sessionTtlHours: integer(env, 'REFINERY_SESSION_TTL_HOURS', 336, 1, 24 * 365), kratos: kratosConfig(env) };
}

function kratosConfig(env: NodeJS.ProcessEnv): KratosConfig | undefined {
  const sdkUrl = env.ORY_SDK_URL || undefined;
  if (sdkUrl === undefined) return undefined;
  if (!isHttpUrl(sdkUrl)) throw new ConfigError('ORY_SDK_URL', sdkUrl, "an http:// or https:// URL of Kratos' public API, e.g. http://kratos:4433");
  const browserUrl = env.ORY_BROWSER_URL || sdkUrl;
  if (!isHttpUrl(browserUrl)) throw new ConfigError('ORY_BROWSER_URL', browserUrl, "an http:// or https:// URL of Kratos' public API as browsers reach it");
  return { sdkUrl, browserUrl, timeoutMs: integer(env, 'ORY_TIMEOUT_MS', 5000, 100, 60_000) };
}

function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}
