import { comparePositions, parsePosition, type EventStore, type SqlDatabase } from '@refinery/events';
import { ProjectionRunner, setupCheckpoints, type Projection } from '@refinery/projector';
import { allProjections } from '@refinery/read-models';
import { AuditError } from './errors.ts';
import { historyProjection } from './history/projection.ts';

/** Every read model the product runs: the feature read models and the audit timeline. */
export const productProjections: readonly Projection[] = [...allProjections, historyProjection];

export interface RebuildProgress {
  name: string;
  /** 0–1, by the log sequence reached (approximate) */
  fraction: number;
  done: boolean;
}

export interface RebuildResult {
  name: string;
  seconds: number;
}

/**
 * Rebuilds read models from the log with the projector's own mechanism: the stored version of
 * each is marked stale, so whichever projector instance holds it (this process's runner, or a
 * running projector elsewhere) drops and replays it, exactly as after a code change. Resolves
 * when every one is rebuilt and at the head of the log as it was at the start.
 */
export async function rebuildReadModels(
  platform: { db: SqlDatabase; store: EventStore & { onAppended?(listener: () => void): () => void } },
  names: readonly string[] | 'all',
  options: { projections?: readonly Projection[]; onProgress?(p: RebuildProgress[]): void; progressEveryMs?: number; leaseMs?: number; timeoutMs?: number } = {},
): Promise<RebuildResult[]> {
  const available = options.projections ?? productProjections;
  const selected = names === 'all' ? [...available] : names.map((n) => available.find((p) => p.name === n) ?? unknownProjection(n, available));
  const { db, store } = platform;
  await setupCheckpoints(db, selected);
  const head = parsePosition(await store.head());
  const t0 = performance.now();
  // Version 0 is never a projection's version: the holder sees a code change and rebuilds.
  await db.query(`update projection_checkpoints set version = 0 where name = any($1::text[])`, [selected.map((p) => p.name)]);
  const runner = new ProjectionRunner(db, store, selected, { log: () => undefined, ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}) });
  await runner.start();
  const finished = new Map<string, number>();
  const deadline = Date.now() + (options.timeoutMs ?? 24 * 3600_000);
  let lastReport = 0;
  try {
    for (;;) {
      const r = await db.query<{ name: string; version: number; checkpoint: string }>(`select name, version, checkpoint from projection_checkpoints where name = any($1::text[])`, [
        selected.map((p) => p.name),
      ]);
      const rows = new Map(r.rows.map((row) => [row.name, row]));
      const progress = selected.map((p): RebuildProgress => {
        const row = rows.get(p.name);
        const local = runner.localCheckpoints().get(p.name);
        const rebuilt = row !== undefined && row.version === p.version;
        const checkpoint = rebuilt ? (local && comparePositions(parsePosition(local), parsePosition(row.checkpoint)) > 0 ? local : row.checkpoint) : undefined;
        const done = checkpoint !== undefined && comparePositions(parsePosition(checkpoint), head) >= 0;
        if (done && !finished.has(p.name)) finished.set(p.name, (performance.now() - t0) / 1000);
        const fraction = done ? 1 : checkpoint && head.seq > 0n ? Math.min(0.999, Number(parsePosition(checkpoint).seq) / Number(head.seq)) : 0;
        return { name: p.name, fraction, done };
      });
      const allDone = progress.every((p) => p.done);
      if (options.onProgress && (allDone || Date.now() - lastReport >= (options.progressEveryMs ?? 1000))) {
        lastReport = Date.now();
        options.onProgress(progress);
      }
      if (allDone) break;
      if (Date.now() > deadline) throw new AuditError('invalid', 'rebuild_timeout', `rebuilding ${progress.filter((p) => !p.done).map((p) => p.name).join(', ')} did not finish in time`, {});
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await runner.stop();
  }
  return selected.map((p) => ({ name: p.name, seconds: finished.get(p.name) ?? (performance.now() - t0) / 1000 }));
}

function unknownProjection(name: string, available: readonly Projection[]): never {
  throw new AuditError('not_found', 'unknown_projection', `no read model named "${name}"; the read models are: ${available.map((p) => p.name).join(', ')}`, { name });
}
