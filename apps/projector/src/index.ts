import { ProjectionRunner, projectionStatus, type ProjectionStatus } from '@refinery/projector';
import { allProjections } from '@refinery/read-models';
import { historyProjection } from '@refinery/audit';
import type { Platform } from '@refinery/runtime';

export interface ProjectorHandle {
  runner: ProjectionRunner;
  status(): Promise<ProjectionStatus[]>;
  stop(): Promise<void>;
}

/** Every read model the projector keeps: the product's read models and the audit timeline (docs/audit.md). */
const projections = [...allProjections, historyProjection];

/** Runs every read model's projection; several processes may run this, one is active per projection. */
export async function startProjector(platform: Platform, options: { leaseMs?: number; log?: (m: string) => void } = {}): Promise<ProjectorHandle> {
  const runner = new ProjectionRunner(platform.db, platform.store, projections, {
    ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  await runner.start();
  return {
    runner,
    status: () => projectionStatus(platform.db, projections, runner.instanceId),
    stop: () => runner.stop(),
  };
}

export { allProjections };
