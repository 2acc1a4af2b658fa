import { ProjectionRunner, type Projection } from '@refinery/projector';
import type { Platform } from '@refinery/runtime';

/**
 * Reactors: checkpointed consumers of the log that do work in response to events (heuristic
 * runs, weak supervision, embeddings, the Kafka relay). They reuse the projection runner:
 * their checkpoint advances in the same transaction as the events they append, and one
 * instance is active per reactor across processes.
 */
export type Reactor = Projection;

/** The reactors this build ships. Heuristic runs and weak supervision arrive with their issues. */
export const allReactors: readonly Reactor[] = [];

export interface WorkersHandle {
  reactors: readonly Reactor[];
  stop(): Promise<void>;
}

export async function startWorkers(platform: Platform, reactors: readonly Reactor[] = allReactors): Promise<WorkersHandle> {
  if (reactors.length === 0) return { reactors, stop: async () => undefined };
  const runner = new ProjectionRunner(platform.db, platform.store, reactors, { instanceId: `workers-${process.pid}` });
  await runner.start();
  return { reactors, stop: () => runner.stop() };
}
