import type { ArtifactStore, EventStore, SqlDatabase } from '@refinery/events';
import type { CatchUpWaiter } from '@refinery/projector';
import type { ImportLimits } from '@refinery/importing';
import type { BuiltInIdentity } from '@refinery/identity';

export interface ApiConfig {
  /** largest accepted upload (bytes); REFINERY_MAX_UPLOAD_BYTES, default 200 MB */
  maxUploadBytes: number;
  /** longest a query waits for `?after=` to be reached (ms); REFINERY_READ_WAIT_MS, default 10 s */
  readWaitMs: number;
  importLimits: Partial<ImportLimits>;
}

export interface ApiContext {
  db: SqlDatabase;
  store: EventStore;
  artifacts: ArtifactStore;
  waiter: CatchUpWaiter;
  /** accounts, sessions, API tokens, invitations and memberships (docs/identity.md) */
  identity: BuiltInIdentity;
  config: ApiConfig;
  /** is the projector running and the database reachable? for /readyz */
  readiness: () => Promise<{ ready: boolean; checks: Record<string, unknown> }>;
  log: (message: string) => void;
  /** live session documents (apps/api/src/live): told when claims change so open documents mirror them */
  live?: {
    claimsChanged(projectId: string, sessionId: string): void;
    /** label events of a record this node just appended (its stream revision is that of the last) */
    labelsCommitted(projectId: string, recordId: string, events: readonly { type: string; data: unknown }[], lastRevision: bigint, recordSeq?: number): void;
  };
}

export const DEFAULT_API_CONFIG: ApiConfig = {
  maxUploadBytes: 200 * 1024 * 1024,
  readWaitMs: 10_000,
  importLimits: {},
};
