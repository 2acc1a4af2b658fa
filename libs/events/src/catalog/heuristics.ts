import { z } from 'zod';
import { defineEvent, type EventOf } from '../catalog.ts';

/** One stream per heuristic: its definition, code changes and runs (`heuristic:<projectId>:<heuristicId>`). */
export const heuristicStreamId = (projectId: string, heuristicId: string) => `heuristic:${projectId}:${heuristicId}`;
/** One stream per lookup list (`lookup-list:<projectId>:<listId>`). */
export const lookupListStreamId = (projectId: string, listId: string) => `lookup-list:${projectId}:${listId}`;

const id = z.string().min(1).max(64);
const recordId = z.string().min(1).max(512);
/** `crowd` (HeuristicCreated v2): votes follow the crowd labels of the task (docs/crowd.md), never run */
export const heuristicType = z.enum(['labeling_function', 'lookup_list', 'external', 'crowd']);
export const heuristicLanguage = z.enum(['javascript', 'typescript', 'python']);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const code = z.string().min(1).max(200_000);

export const HeuristicCreated = defineEvent({
  type: 'HeuristicCreated',
  // v2: + type `crowd`. v1 data is valid v2 data (a v1 log never holds `crowd`); a build that
  // knows only v1 refuses a v2 event (NewerSchemaError) instead of misreading a crowd heuristic.
  version: 2,
  upcasters: { 1: (data) => data },
  schema: z.object({
    projectId: z.uuid(),
    heuristicId: id,
    name: z.string().trim().min(1).max(100),
    description: z.string().max(2000),
    taskId: id,
    type: heuristicType,
    /** labeling_function only */
    language: heuristicLanguage.optional(),
    code: code.optional(),
    codeHash: sha256.optional(),
    /** lookup_list only: the list, the label it votes and the text attribute it reads */
    lookupListId: id.optional(),
    labelId: id.optional(),
    attribute: z.string().min(1).max(200).optional(),
  }),
});
export const HeuristicCodeChanged = defineEvent({
  type: 'HeuristicCodeChanged',
  schema: z.object({ projectId: z.uuid(), heuristicId: id, code, codeHash: sha256 }),
});
export const HeuristicRenamed = defineEvent({
  type: 'HeuristicRenamed',
  schema: z.object({ projectId: z.uuid(), heuristicId: id, name: z.string().trim().min(1).max(100), description: z.string().max(2000) }),
});
export const HeuristicDeleted = defineEvent({
  type: 'HeuristicDeleted',
  schema: z.object({ projectId: z.uuid(), heuristicId: id }),
});

export const LookupListSaved = defineEvent({
  type: 'LookupListSaved',
  schema: z.object({
    projectId: z.uuid(),
    listId: id,
    /** functions read it by this name: `ctx.lookup(name)` / `lookup(name)` */
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/),
    terms: z.array(z.string().min(1).max(1000)).max(100_000),
    caseInsensitive: z.boolean(),
    wholeWord: z.boolean(),
  }),
});
export const LookupListDeleted = defineEvent({
  type: 'LookupListDeleted',
  schema: z.object({ projectId: z.uuid(), listId: id }),
});

// --- runs: on the heuristic's stream ---

export const HeuristicRunRequested = defineEvent({
  type: 'HeuristicRunRequested',
  schema: z.object({
    projectId: z.uuid(),
    heuristicId: id,
    runId: z.uuid(),
    /** the code version to run (labeling functions); the definition hash otherwise */
    codeHash: sha256,
    /** run over the first `sample` records only (a preview: it does not replace the label matrix) */
    sample: z.number().int().positive().optional(),
  }),
});
export const HeuristicRunProgressed = defineEvent({
  type: 'HeuristicRunProgressed',
  schema: z.object({ projectId: z.uuid(), heuristicId: id, runId: z.uuid(), done: z.number().int().nonnegative(), total: z.number().int().nonnegative() }),
});
export const runCounts = z.object({
  /** records the run looked at */
  records: z.number().int().nonnegative(),
  /** records with a (non-abstain) vote */
  votes: z.number().int().nonnegative(),
  /** votes (classification) or spans (extraction) per label id */
  byLabel: z.record(z.string(), z.number().int().nonnegative()),
});
export const HeuristicRunCompleted = defineEvent({
  type: 'HeuristicRunCompleted',
  schema: z.object({
    projectId: z.uuid(),
    heuristicId: id,
    runId: z.uuid(),
    codeHash: sha256,
    /** SHA-256 of the votes artifact (format: docs/heuristics.md) */
    votesArtifact: sha256,
    counts: runCounts,
    durationMs: z.number().nonnegative(),
    sample: z.number().int().positive().optional(),
  }),
});
export const heuristicRunError = z.object({
  kind: z.enum(['syntax', 'runtime', 'timeout', 'memory', 'invalid_output', 'configuration', 'internal']),
  message: z.string().max(10_000),
  recordId: recordId.optional(),
  line: z.number().int().positive().optional(),
  column: z.number().int().positive().optional(),
});
export const HeuristicRunFailed = defineEvent({
  type: 'HeuristicRunFailed',
  schema: z.object({ projectId: z.uuid(), heuristicId: id, runId: z.uuid(), error: heuristicRunError, durationMs: z.number().nonnegative() }),
});
export const HeuristicRunCancelled = defineEvent({
  type: 'HeuristicRunCancelled',
  schema: z.object({ projectId: z.uuid(), heuristicId: id, runId: z.uuid() }),
});

export type HeuristicCreated = EventOf<typeof HeuristicCreated>;
export type HeuristicCodeChanged = EventOf<typeof HeuristicCodeChanged>;
export type HeuristicRenamed = EventOf<typeof HeuristicRenamed>;
export type HeuristicDeleted = EventOf<typeof HeuristicDeleted>;
export type LookupListSaved = EventOf<typeof LookupListSaved>;
export type LookupListDeleted = EventOf<typeof LookupListDeleted>;
export type HeuristicRunRequested = EventOf<typeof HeuristicRunRequested>;
export type HeuristicRunProgressed = EventOf<typeof HeuristicRunProgressed>;
export type HeuristicRunCompleted = EventOf<typeof HeuristicRunCompleted>;
export type HeuristicRunFailed = EventOf<typeof HeuristicRunFailed>;
export type HeuristicRunCancelled = EventOf<typeof HeuristicRunCancelled>;
export type HeuristicRunError = z.output<typeof heuristicRunError>;
export type HeuristicType = z.output<typeof heuristicType>;
export type HeuristicLanguageName = z.output<typeof heuristicLanguage>;
export type HeuristicEvent =
  | HeuristicCreated
  | HeuristicCodeChanged
  | HeuristicRenamed
  | HeuristicDeleted
  | HeuristicRunRequested
  | HeuristicRunProgressed
  | HeuristicRunCompleted
  | HeuristicRunFailed
  | HeuristicRunCancelled;
export type LookupListEvent = LookupListSaved | LookupListDeleted;

export const heuristicEvents = [
  HeuristicCreated,
  HeuristicCodeChanged,
  HeuristicRenamed,
  HeuristicDeleted,
  LookupListSaved,
  LookupListDeleted,
  HeuristicRunRequested,
  HeuristicRunProgressed,
  HeuristicRunCompleted,
  HeuristicRunFailed,
  HeuristicRunCancelled,
] as const;

/**
 * The votes artifact of a completed run (JSON, UTF-8): only the records with a vote.
 * classification: `votes[i]` is a label id; extraction: a list of spans `[labelId, start, end]`.
 */
export interface VotesArtifact {
  format: 'refinery.heuristic-votes.v1';
  kind: 'classification' | 'extraction';
  recordIds: string[];
  votes: Array<string | Array<[string, number, number]>>;
}
