import type { WeakSupervisionEvent, WeakSupervisionModel, WeakSupervisionParameters } from '@refinery/events';
import type { Decider } from '../decider.ts';
import { DomainError } from '../errors.ts';
import type { TaskDefinition } from '../labeling/config.ts';

export type WeakSupervisionRunStatus = 'requested' | 'completed' | 'failed' | 'superseded';

export interface WeakSupervisionConfig {
  heuristicIds: string[];
  model: WeakSupervisionModel;
  autoRerun: boolean;
  minConfidence: number;
}

/** A task's weak-supervision stream folded: its configuration and its runs in request order. */
export interface WeakSupervisionState {
  projectId: string;
  taskId: string;
  config: WeakSupervisionConfig | undefined;
  runs: Record<string, WeakSupervisionRunStatus>;
  /** run ids in the order they were requested */
  requested: string[];
}

export const emptyWeakSupervision = (): WeakSupervisionState => ({ projectId: '', taskId: '', config: undefined, runs: {}, requested: [] });

/** What a new project task starts with until someone configures it. */
export const DEFAULT_WS_CONFIG: WeakSupervisionConfig = { heuristicIds: [], model: 'ours', autoRerun: false, minConfidence: 0 };

/** A heuristic of the project as the caller sees it now (active ones only). */
export interface AvailableHeuristic {
  id: string;
  taskId: string;
}

export type WeakSupervisionCommand =
  | {
      type: 'ConfigureWeakSupervision';
      projectId: string;
      taskId: string;
      /** the task as configured now (undefined: it does not exist) */
      task: TaskDefinition | undefined;
      heuristics: readonly AvailableHeuristic[];
      heuristicIds?: readonly string[];
      model?: WeakSupervisionModel;
      autoRerun?: boolean;
      minConfidence?: number;
    }
  | {
      type: 'RequestWeakSupervision';
      projectId: string;
      taskId: string;
      runId: string;
      task: TaskDefinition | undefined;
      heuristics: readonly AvailableHeuristic[];
      /** default: the configured heuristics */
      heuristicIds?: readonly string[];
      /** default: the configured model, else `ours` */
      model?: WeakSupervisionModel;
      parameters?: WeakSupervisionParameters;
      trigger: 'manual' | 'auto';
      requestedBy: string;
    };

function requireTask(task: TaskDefinition | undefined, taskId: string): TaskDefinition {
  if (!task) throw new DomainError('not_found', 'task_not_found', `labeling task ${taskId} does not exist`, { taskId });
  if (task.labels.size === 0) throw new DomainError('invalid', 'task_has_no_labels', `task ${task.name} has no labels`, { taskId });
  return task;
}

function checkHeuristics(ids: readonly string[], task: TaskDefinition, heuristics: readonly AvailableHeuristic[], path: string): string[] {
  const unique = [...new Set(ids)];
  if (unique.length !== ids.length) throw new DomainError('invalid', 'duplicate_heuristic', `${path}: a heuristic is listed twice`, { path });
  const byId = new Map(heuristics.map((h) => [h.id, h]));
  const allowed = heuristics.filter((h) => h.taskId === task.id).map((h) => h.id);
  for (const id of unique) {
    const h = byId.get(id);
    if (!h) throw new DomainError('invalid', 'unknown_heuristic', `${path}: heuristic ${id} does not exist in this project`, { path, heuristicId: id, allowed });
    if (h.taskId !== task.id) throw new DomainError('invalid', 'heuristic_of_other_task', `${path}: heuristic ${id} labels another task`, { path, heuristicId: id, allowed });
  }
  return unique;
}

function checkConfidence(value: number): number {
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw new DomainError('invalid', 'invalid_confidence', `minConfidence must be a number from 0 to 1; got ${value}`, { path: 'minConfidence', min: 0, max: 1 });
  }
  return value;
}

export function decideWeakSupervision(command: WeakSupervisionCommand, s: WeakSupervisionState): WeakSupervisionEvent[] {
  switch (command.type) {
    case 'ConfigureWeakSupervision': {
      const task = requireTask(command.task, command.taskId);
      const current = s.config ?? DEFAULT_WS_CONFIG;
      const next: WeakSupervisionConfig = {
        heuristicIds: command.heuristicIds ? checkHeuristics(command.heuristicIds, task, command.heuristics, 'heuristicIds') : current.heuristicIds,
        model: command.model ?? current.model,
        autoRerun: command.autoRerun ?? current.autoRerun,
        minConfidence: command.minConfidence !== undefined ? checkConfidence(command.minConfidence) : current.minConfidence,
      };
      if (s.config && JSON.stringify(next) === JSON.stringify(s.config)) return [];
      return [{ type: 'WeakSupervisionConfigured', data: { projectId: command.projectId, taskId: command.taskId, ...next } }];
    }
    case 'RequestWeakSupervision': {
      const task = requireTask(command.task, command.taskId);
      if (s.runs[command.runId]) throw new DomainError('conflict', 'run_exists', `run ${command.runId} exists`, { runId: command.runId });
      const ids = command.heuristicIds ?? s.config?.heuristicIds ?? [];
      if (ids.length === 0) {
        throw new DomainError('invalid', 'no_heuristics', 'choose at least one heuristic of this task (in the request or the task configuration)', { path: 'heuristicIds' });
      }
      const heuristicIds = checkHeuristics(ids, task, command.heuristics, 'heuristicIds');
      return [
        {
          type: 'WeakSupervisionRequested',
          data: {
            projectId: command.projectId,
            taskId: command.taskId,
            runId: command.runId,
            model: command.model ?? s.config?.model ?? 'ours',
            heuristicIds,
            parameters: command.parameters ?? {},
            trigger: command.trigger,
            requestedBy: command.requestedBy,
          },
        },
      ];
    }
    default: {
      const never: never = command;
      return never;
    }
  }
}

export function evolveWeakSupervision(s: WeakSupervisionState, event: { type: string; data: unknown }): WeakSupervisionState {
  const e = event as WeakSupervisionEvent;
  switch (e.type) {
    case 'WeakSupervisionConfigured': {
      const { projectId, taskId, heuristicIds, model, autoRerun, minConfidence } = e.data;
      return { ...s, projectId, taskId, config: { heuristicIds, model, autoRerun, minConfidence } };
    }
    case 'WeakSupervisionRequested':
      return { ...s, projectId: e.data.projectId, taskId: e.data.taskId, runs: { ...s.runs, [e.data.runId]: 'requested' }, requested: [...s.requested, e.data.runId] };
    case 'WeakSupervisionCompleted':
      return finish(s, e.data.runId, 'completed');
    case 'WeakSupervisionFailed':
      return finish(s, e.data.runId, 'failed');
    case 'WeakSupervisionSuperseded':
      return finish(s, e.data.runId, 'superseded');
    default:
      return s;
  }
}

/** The first outcome of a run wins. */
function finish(s: WeakSupervisionState, runId: string, status: WeakSupervisionRunStatus): WeakSupervisionState {
  if (s.runs[runId] !== 'requested') return s;
  return { ...s, runs: { ...s.runs, [runId]: status } };
}

export const weakSupervisionDecider: Decider<WeakSupervisionCommand, WeakSupervisionState, WeakSupervisionEvent> = {
  decide: decideWeakSupervision,
  evolve: evolveWeakSupervision,
  initialState: emptyWeakSupervision(),
};
