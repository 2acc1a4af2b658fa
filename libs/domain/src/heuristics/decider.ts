import type {
  HeuristicCreated,
  HeuristicEvent,
  HeuristicLanguageName,
  HeuristicRunCompleted,
  HeuristicRunError,
  HeuristicType,
  LookupListEvent,
} from '@refinery/events';
import type { Decider } from '../decider.ts';
import { DomainError } from '../errors.ts';
import type { TaskDefinition } from '../labeling/config.ts';

export type RunStatus = 'requested' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface HeuristicState {
  status: 'none' | 'active' | 'deleted';
  projectId: string;
  heuristicId: string;
  name: string;
  taskId: string;
  type: HeuristicType | undefined;
  language: HeuristicLanguageName | undefined;
  code: string | undefined;
  codeHash: string | undefined;
  /** every code version this heuristic ever had, by hash (a run names the version it runs) */
  codeByHash: Record<string, string>;
  lookupListId: string | undefined;
  labelId: string | undefined;
  attribute: string | undefined;
  runs: Record<string, RunStatus>;
}

export const emptyHeuristic = (): HeuristicState => ({
  status: 'none',
  projectId: '',
  heuristicId: '',
  name: '',
  taskId: '',
  type: undefined,
  language: undefined,
  code: undefined,
  codeHash: undefined,
  codeByHash: {},
  lookupListId: undefined,
  labelId: undefined,
  attribute: undefined,
  runs: {},
});

type Counts = HeuristicRunCompleted['data']['counts'];

export type HeuristicCommand =
  | {
      type: 'CreateHeuristic';
      projectId: string;
      heuristicId: string;
      name: string;
      description?: string;
      heuristicType: HeuristicType;
      /** the task as configured now (undefined: it does not exist) */
      task: TaskDefinition | undefined;
      language?: HeuristicLanguageName;
      code?: string;
      codeHash?: string;
      lookupListId?: string;
      /** lookup lists of the project that exist now */
      lookupListExists?: boolean;
      labelId?: string;
      attribute?: string;
      /** text attributes of the project */
      textAttributes?: readonly string[];
    }
  | { type: 'ChangeHeuristicCode'; code: string; codeHash: string }
  | { type: 'RenameHeuristic'; name: string; description?: string }
  | { type: 'DeleteHeuristic' }
  | { type: 'RequestHeuristicRun'; runId: string; sample?: number; codeHash: string }
  | { type: 'CancelHeuristicRun'; runId: string }
  /** external results: votes already stored as an artifact by the caller */
  | { type: 'RecordExternalVotes'; runId: string; votesArtifact: string; counts: Counts; durationMs: number }
  /** the worker's outcomes (their checks live here too so that the rules are in one place) */
  | { type: 'FailHeuristicRun'; runId: string; error: HeuristicRunError; durationMs: number };

const notFound = (s: HeuristicState, id?: string) =>
  new DomainError('not_found', 'heuristic_not_found', `heuristic ${id ?? s.heuristicId} does not exist`, { heuristicId: id ?? s.heuristicId });

function requireActive(s: HeuristicState): void {
  if (s.status === 'none') throw notFound(s);
  if (s.status === 'deleted') throw new DomainError('gone', 'heuristic_deleted', `heuristic ${s.heuristicId} was deleted`, { heuristicId: s.heuristicId });
}

const FINISHED: readonly RunStatus[] = ['completed', 'failed', 'cancelled'];

export function decideHeuristic(command: HeuristicCommand, s: HeuristicState): HeuristicEvent[] {
  const ref = { projectId: s.projectId, heuristicId: s.heuristicId };
  switch (command.type) {
    case 'CreateHeuristic': {
      if (s.status !== 'none') throw new DomainError('conflict', 'heuristic_exists', `heuristic ${command.heuristicId} already exists`, { heuristicId: command.heuristicId });
      const task = command.task;
      if (!task) throw new DomainError('not_found', 'task_not_found', `labeling task does not exist`, {});
      const data: HeuristicCreated['data'] = {
        projectId: command.projectId,
        heuristicId: command.heuristicId,
        name: command.name,
        description: command.description ?? '',
        taskId: task.id,
        type: command.heuristicType,
      };
      if (command.heuristicType === 'labeling_function') {
        if (!command.language) throw new DomainError('invalid', 'language_required', 'a labeling function needs a language: javascript, typescript or python');
        if (!command.code?.trim() || !command.codeHash) throw new DomainError('invalid', 'code_required', 'a labeling function needs code defining a function named lf');
        if (task.labels.size === 0) throw new DomainError('invalid', 'task_has_no_labels', `task ${task.name} has no labels to vote for`, { taskId: task.id });
        Object.assign(data, { language: command.language, code: command.code, codeHash: command.codeHash });
      } else if (command.heuristicType === 'lookup_list') {
        if (!command.lookupListId || !command.lookupListExists) {
          throw new DomainError('not_found', 'lookup_list_not_found', `lookup list ${command.lookupListId ?? '(none)'} does not exist`, { lookupListId: command.lookupListId ?? null });
        }
        if (!command.labelId || !task.labels.has(command.labelId)) {
          throw new DomainError('invalid', 'unknown_label', `label ${command.labelId ?? '(none)'} is not a label of task ${task.name}`, { labelId: command.labelId ?? null });
        }
        const attribute = command.attribute ?? task.attribute ?? undefined;
        if (!attribute || !(command.textAttributes ?? []).includes(attribute)) {
          throw new DomainError('invalid', 'invalid_attribute', `a lookup list heuristic reads a text attribute; ${attribute ?? 'none'} is not one`, { attribute: attribute ?? null });
        }
        if (task.kind === 'span' && attribute !== task.attribute) {
          throw new DomainError('invalid', 'invalid_attribute', `the span task labels ${task.attribute}; the lookup list must read that attribute`, { attribute });
        }
        Object.assign(data, { lookupListId: command.lookupListId, labelId: command.labelId, attribute, codeHash: command.codeHash });
      } else if (command.heuristicType === 'crowd') {
        // one label per record from the crowd's answers: classification tasks only
        if (task.kind === 'span') {
          throw new DomainError('invalid', 'crowd_needs_classification', `task ${task.name} is a span task; a crowd heuristic votes one label per record and needs a classification task`, { taskId: task.id });
        }
      } else if (command.codeHash) {
        Object.assign(data, { codeHash: command.codeHash });
      }
      return [{ type: 'HeuristicCreated', data }];
    }
    case 'ChangeHeuristicCode':
      requireActive(s);
      if (s.type !== 'labeling_function') throw new DomainError('invalid', 'not_a_labeling_function', 'only labeling functions have code');
      if (!command.code.trim()) throw new DomainError('invalid', 'code_required', 'the code may not be empty');
      if (command.codeHash === s.codeHash) return [];
      return [{ type: 'HeuristicCodeChanged', data: { ...ref, code: command.code, codeHash: command.codeHash } }];
    case 'RenameHeuristic':
      requireActive(s);
      return [{ type: 'HeuristicRenamed', data: { ...ref, name: command.name, description: command.description ?? '' } }];
    case 'DeleteHeuristic':
      if (s.status === 'none') throw notFound(s);
      if (s.status === 'deleted') return [];
      return [{ type: 'HeuristicDeleted', data: ref }];
    case 'RequestHeuristicRun': {
      requireActive(s);
      if (s.type === 'external') throw new DomainError('invalid', 'external_heuristic', 'external heuristics are not run; upload their votes instead');
      if (s.type === 'crowd') throw new DomainError('invalid', 'crowd_heuristic', 'crowd heuristics are not run: their votes follow the crowd labels as they come in');
      if (s.runs[command.runId]) throw new DomainError('conflict', 'run_exists', `run ${command.runId} exists`, { runId: command.runId });
      if (s.type === 'labeling_function' && !s.codeByHash[command.codeHash]) {
        throw new DomainError('conflict', 'unknown_code_version', `code version ${command.codeHash} is not a version of this heuristic`, { codeHash: command.codeHash });
      }
      return [{ type: 'HeuristicRunRequested', data: { ...ref, runId: command.runId, codeHash: command.codeHash, ...(command.sample ? { sample: command.sample } : {}) } }];
    }
    case 'CancelHeuristicRun': {
      requireActive(s);
      const status = s.runs[command.runId];
      if (!status) throw new DomainError('not_found', 'run_not_found', `run ${command.runId} does not exist`, { runId: command.runId });
      if (FINISHED.includes(status)) throw new DomainError('conflict', 'run_finished', `run ${command.runId} has already ${status === 'cancelled' ? 'been cancelled' : status}`, { runId: command.runId, status });
      return [{ type: 'HeuristicRunCancelled', data: { ...ref, runId: command.runId } }];
    }
    case 'RecordExternalVotes':
      requireActive(s);
      if (s.type !== 'external') throw new DomainError('invalid', 'not_external', 'only external heuristics take uploaded votes; run the others');
      if (s.runs[command.runId]) throw new DomainError('conflict', 'run_exists', `run ${command.runId} exists`, { runId: command.runId });
      return [
        { type: 'HeuristicRunRequested', data: { ...ref, runId: command.runId, codeHash: command.votesArtifact } },
        {
          type: 'HeuristicRunCompleted',
          data: { ...ref, runId: command.runId, codeHash: command.votesArtifact, votesArtifact: command.votesArtifact, counts: command.counts, durationMs: command.durationMs },
        },
      ];
    case 'FailHeuristicRun': {
      const status = s.runs[command.runId];
      if (!status) throw new DomainError('not_found', 'run_not_found', `run ${command.runId} does not exist`, { runId: command.runId });
      if (FINISHED.includes(status)) return [];
      return [{ type: 'HeuristicRunFailed', data: { ...ref, runId: command.runId, error: command.error, durationMs: command.durationMs } }];
    }
  }
}

export function evolveHeuristic(s: HeuristicState, event: { type: string; data: unknown }): HeuristicState {
  const e = event as HeuristicEvent;
  switch (e.type) {
    case 'HeuristicCreated': {
      const d = e.data;
      return {
        ...s,
        status: 'active',
        projectId: d.projectId,
        heuristicId: d.heuristicId,
        name: d.name,
        taskId: d.taskId,
        type: d.type,
        language: d.language,
        code: d.code,
        codeHash: d.codeHash,
        codeByHash: d.code && d.codeHash ? { ...s.codeByHash, [d.codeHash]: d.code } : s.codeByHash,
        lookupListId: d.lookupListId,
        labelId: d.labelId,
        attribute: d.attribute,
      };
    }
    case 'HeuristicCodeChanged':
      return { ...s, code: e.data.code, codeHash: e.data.codeHash, codeByHash: { ...s.codeByHash, [e.data.codeHash]: e.data.code } };
    case 'HeuristicRenamed':
      return { ...s, name: e.data.name };
    case 'HeuristicDeleted':
      return { ...s, status: 'deleted' };
    case 'HeuristicRunRequested':
      return { ...s, runs: { ...s.runs, [e.data.runId]: 'requested' } };
    case 'HeuristicRunProgressed':
      return s.runs[e.data.runId] === 'requested' ? { ...s, runs: { ...s.runs, [e.data.runId]: 'running' } } : s;
    case 'HeuristicRunCompleted':
      return { ...s, runs: { ...s.runs, [e.data.runId]: 'completed' } };
    case 'HeuristicRunFailed':
      return { ...s, runs: { ...s.runs, [e.data.runId]: 'failed' } };
    case 'HeuristicRunCancelled':
      return { ...s, runs: { ...s.runs, [e.data.runId]: 'cancelled' } };
    default:
      return s;
  }
}

export const heuristicDecider: Decider<HeuristicCommand, HeuristicState, HeuristicEvent> = {
  decide: decideHeuristic,
  evolve: evolveHeuristic,
  initialState: emptyHeuristic(),
};

// --- lookup lists ---

export interface LookupListState {
  status: 'none' | 'active' | 'deleted';
  projectId: string;
  listId: string;
  name: string;
}
export const emptyLookupList = (): LookupListState => ({ status: 'none', projectId: '', listId: '', name: '' });

export type LookupListCommand =
  | {
      type: 'SaveLookupList';
      projectId: string;
      listId: string;
      name: string;
      terms: readonly string[];
      caseInsensitive?: boolean;
      wholeWord?: boolean;
      /** names of the project's other lists (a name identifies a list inside functions) */
      otherNames: readonly string[];
    }
  | { type: 'DeleteLookupList' };

export function decideLookupList(command: LookupListCommand, s: LookupListState): LookupListEvent[] {
  switch (command.type) {
    case 'SaveLookupList': {
      if (s.status === 'deleted') throw new DomainError('gone', 'lookup_list_deleted', `lookup list ${command.listId} was deleted`, { listId: command.listId });
      if (command.otherNames.includes(command.name)) throw new DomainError('conflict', 'lookup_list_name_taken', `another lookup list is named ${command.name}`, { name: command.name });
      const terms = [...new Set(command.terms.map((t) => t.trim()).filter((t) => t.length > 0))];
      return [
        {
          type: 'LookupListSaved',
          data: { projectId: command.projectId, listId: command.listId, name: command.name, terms, caseInsensitive: command.caseInsensitive ?? true, wholeWord: command.wholeWord ?? true },
        },
      ];
    }
    case 'DeleteLookupList':
      if (s.status === 'none') throw new DomainError('not_found', 'lookup_list_not_found', `lookup list ${s.listId} does not exist`, { listId: s.listId });
      if (s.status === 'deleted') return [];
      return [{ type: 'LookupListDeleted', data: { projectId: s.projectId, listId: s.listId } }];
  }
}

export function evolveLookupList(s: LookupListState, event: { type: string; data: unknown }): LookupListState {
  const e = event as LookupListEvent;
  if (e.type === 'LookupListSaved') return { status: 'active', projectId: e.data.projectId, listId: e.data.listId, name: e.data.name };
  if (e.type === 'LookupListDeleted') return { ...s, status: 'deleted' };
  return s;
}

export const lookupListDecider: Decider<LookupListCommand, LookupListState, LookupListEvent> = {
  decide: decideLookupList,
  evolve: evolveLookupList,
  initialState: emptyLookupList(),
};
