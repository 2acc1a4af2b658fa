/** Limits and timings of live session documents (docs/live.md lists the environment variables). */
export interface LiveLimits {
  /** largest WebSocket message accepted; bigger ones close the socket with 1009 */
  maxMessageBytes: number;
  /** live connections (documents) one user may hold open at once; more are refused with 429 */
  maxConnectionsPerUser: number;
  /** documents loaded on this API process at once; more are refused with 503 */
  maxDocuments: number;
  /** messages a connection may send before its document finished loading */
  maxPendingMessages: number;
  /** awareness client ids one connection may speak for */
  maxAwarenessClientsPerConnection: number;
  /** size of one awareness state (JSON) */
  maxAwarenessStateBytes: number;
  /** bytes of client updates (drafts) one document accepts while loaded; beyond, client writes close with 1008 */
  maxClientBytesPerDocument: number;
  /** outgoing bytes queued for a slow client before it is disconnected (1013) */
  maxBufferedBytes: number;
  /** a changed document is stored this long after its last change … */
  storeDebounceMs: number;
  /** … but no later than this after its first unsaved change */
  storeMaxWaitMs: number;
  /** an unused document stays loaded this long after its last connection closed */
  unloadAfterMs: number;
  /** labeled records mirrored into a document when it loads */
  hydrateRecordLimit: number;
  /** how often lapsed claims are swept */
  claimSweepMs: number;
}

export const DEFAULT_LIVE_LIMITS: LiveLimits = {
  maxMessageBytes: 1024 * 1024,
  maxConnectionsPerUser: 20,
  maxDocuments: 1000,
  maxPendingMessages: 100,
  maxAwarenessClientsPerConnection: 4,
  maxAwarenessStateBytes: 4096,
  maxClientBytesPerDocument: 8 * 1024 * 1024,
  maxBufferedBytes: 16 * 1024 * 1024,
  storeDebounceMs: 1000,
  storeMaxWaitMs: 10_000,
  unloadAfterMs: 30_000,
  hydrateRecordLimit: 20_000,
  claimSweepMs: 1000,
};

const ENV: Partial<Record<keyof LiveLimits, string>> = {
  maxMessageBytes: 'REFINERY_LIVE_MAX_MESSAGE_BYTES',
  maxConnectionsPerUser: 'REFINERY_LIVE_MAX_CONNECTIONS_PER_USER',
  maxDocuments: 'REFINERY_LIVE_MAX_DOCUMENTS',
  storeDebounceMs: 'REFINERY_LIVE_STORE_DEBOUNCE_MS',
};

/** The limits from the environment (positive integers), defaults for the rest. */
export function liveLimitsFromEnv(env: Readonly<Record<string, string | undefined>>, overrides: Partial<LiveLimits> = {}): LiveLimits {
  const limits: LiveLimits = { ...DEFAULT_LIVE_LIMITS };
  for (const [key, name] of Object.entries(ENV) as [keyof LiveLimits, string][]) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`);
    limits[key] = n;
  }
  return { ...limits, ...overrides };
}
