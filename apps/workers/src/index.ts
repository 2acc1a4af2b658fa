import { CatchUpWaiter, ReactorRunner, type Reactor } from '@refinery/projector';
import type { Platform } from '@refinery/runtime';
import { closeDefaultPythonPool, type PythonPool, type SandboxLimits } from '@refinery/sandbox';
import { HEURISTIC_RUN_READS, heuristicRunReactor } from './heuristic-runs.ts';
import { KafkaRelay, type RelayConfig } from './relay/relay.ts';
import { WEAK_SUPERVISION_READS, weakSupervisionAutoRerunReactor, weakSupervisionReactor } from './weak-supervision.ts';

export { heuristicRunReactor, deterministicId, HEURISTIC_RUN_READS, type HeuristicRunReactorOptions } from './heuristic-runs.ts';
export { weakSupervisionReactor, weakSupervisionAutoRerunReactor, WEAK_SUPERVISION_READS, type WeakSupervisionReactorOptions, type WeakSupervisionAutoRerunOptions } from './weak-supervision.ts';
export { computeWeakLabels, type ReferenceAnswer, type WeakSupervisionInput, type WeakSupervisionOutput } from './weak-supervision-fit.ts';
export type { Reactor };
export { KafkaRelay, RELAY_CHECKPOINT, type RelayConfig, type RelayOptions, type RelayState, type RelayStatus } from './relay/relay.ts';
export { RELAYED_EVENT_TYPES, toIntegrationMessages, UntranslatableEventError, type OutgoingMessage } from './relay/mapping.ts';

/**
 * Reactors: checkpointed consumers of the log that do work in response to events and append the
 * outcome (docs/heuristics.md). They run in a `ReactorRunner` (libs/projector/src/reactor.ts):
 * work happens outside any database transaction; the checkpoint moves after the work, and the
 * work is idempotent (deterministic event ids), so a crash repeats it without doubling events.
 */
export interface WorkersOptions {
  /** replaces the default reactors (tests) */
  reactors?: readonly Reactor[];
  pythonPool?: PythonPool;
  limits?: Partial<SandboxLimits>;
  instanceId?: string;
  log?: (message: string) => void;
  /** read models a run waits for before reading records and lookup lists (ms, default 30 s) */
  readModelWaitMs?: number;
  /** weak-supervision auto re-run: wait after a change before requesting a run (ms, default 5 s) */
  wsDebounceMs?: number;
  /** the Kafka relay (docs/integrations.md): runs when given (config `kafka`, i.e. KAFKA_BROKERS is set) */
  relay?: RelayConfig;
}

export interface WorkersHandle {
  reactors: readonly Reactor[];
  runner: ReactorRunner | undefined;
  relay: KafkaRelay | undefined;
  stop(): Promise<void>;
}

/** The reactors this build ships. */
export function defaultReactors(platform: Platform, options: WorkersOptions = {}): Reactor[] {
  const waiter = new CatchUpWaiter(platform.db);
  const waitMs = options.readModelWaitMs ?? 30_000;
  return [
    heuristicRunReactor({
      db: platform.db,
      store: platform.store,
      artifacts: platform.artifacts,
      ...(options.pythonPool ? { pythonPool: options.pythonPool } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.log ? { log: options.log } : {}),
      waitFor: async (position) => {
        await waiter.waitFor(position, HEURISTIC_RUN_READS, waitMs);
      },
    }),
    weakSupervisionReactor({
      db: platform.db,
      store: platform.store,
      artifacts: platform.artifacts,
      ...(options.log ? { log: options.log } : {}),
      waitFor: async (position) => {
        await waiter.waitFor(position, WEAK_SUPERVISION_READS, waitMs);
      },
    }),
    weakSupervisionAutoRerunReactor({
      db: platform.db,
      store: platform.store,
      ...(options.wsDebounceMs !== undefined ? { debounceMs: options.wsDebounceMs } : {}),
      ...(options.log ? { log: options.log } : {}),
    }),
  ];
}

export async function startWorkers(platform: Platform, options: WorkersOptions = {}): Promise<WorkersHandle> {
  const reactors = options.reactors ?? defaultReactors(platform, options);
  // The relay keeps its own loop and backoff: a broker outage never holds up the reactors.
  const relay = options.relay
    ? new KafkaRelay({
        db: platform.db,
        store: platform.store,
        artifacts: platform.artifacts,
        config: options.relay,
        instanceId: `${options.instanceId ?? `workers-${process.pid}`}-relay`,
        ...(options.log ? { log: options.log } : {}),
      })
    : undefined;
  await relay?.start();
  if (reactors.length === 0) return { reactors, runner: undefined, relay, stop: async () => relay?.stop() };
  const runner = new ReactorRunner(platform.db, platform.store, reactors, {
    instanceId: options.instanceId ?? `workers-${process.pid}`,
    ...(options.log ? { log: options.log } : {}),
  });
  await runner.start();
  return {
    reactors,
    runner,
    relay,
    stop: async () => {
      await relay?.stop();
      await runner.stop();
      if (!options.pythonPool) await closeDefaultPythonPool();
    },
  };
}
