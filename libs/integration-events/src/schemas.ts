import { z } from 'zod';

/**
 * Public integration events: what refinery publishes to Kafka (docs/integrations.md).
 *
 * They are a contract with other systems, deliberately apart from the internal event catalog
 * (libs/events): internal events may be refactored and upcast, these are versioned on their own.
 * A published `type`@`version` never changes meaning; a breaking change is a new version,
 * published beside the old one for a deprecation period.
 */

/** The topics, before the configured prefix (default `refinery.`). */
export const TOPICS = {
  projects: 'projects',
  labels: 'labels',
  records: 'records',
  heuristicRuns: 'heuristic-runs',
  weakLabels: 'weak-labels',
  membership: 'membership',
  deadLetter: 'dead-letter',
} as const;
export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];

const id = z.string().min(1).max(64);
const recordId = z.string().min(1).max(512);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const role = z.enum(['owner', 'engineer', 'expert', 'annotator']);

export const spanSchema = z.object({
  labelId: id,
  /** character offsets into the task's attribute, end exclusive */
  start: z.number().int().nonnegative(),
  end: z.number().int().positive(),
  /** token offsets, end exclusive */
  tokenStart: z.number().int().nonnegative(),
  tokenEnd: z.number().int().positive(),
});

export interface IntegrationEventDefinition<T extends string = string, S extends z.ZodType = z.ZodType> {
  readonly type: T;
  readonly version: number;
  readonly topic: TopicName;
  readonly description: string;
  readonly data: S;
}

function define<T extends string, S extends z.ZodType>(def: IntegrationEventDefinition<T, S>): IntegrationEventDefinition<T, S> {
  return def;
}

// ---- projects ------------------------------------------------------------------------------------

export const ProjectCreatedV1 = define({
  type: 'project.created',
  version: 1,
  topic: TOPICS.projects,
  description: 'A project was created.',
  data: z.object({ name: z.string().min(1).max(100) }),
});
export const ProjectRenamedV1 = define({
  type: 'project.renamed',
  version: 1,
  topic: TOPICS.projects,
  description: 'A project got a new name.',
  data: z.object({ name: z.string().min(1).max(100) }),
});
export const ProjectDeletedV1 = define({
  type: 'project.deleted',
  version: 1,
  topic: TOPICS.projects,
  description:
    'A project and everything in it was deleted: drop what you keep about it. Published on every topic (not only `projects`), in order with the rest of that topic.',
  data: z.object({}),
});

// ---- labels: task and label configuration, manual and gold labels --------------------------------

const labelDefinition = z.object({
  taskId: id,
  labelId: id,
  name: z.string().min(1).max(100),
  color: z.string().regex(/^#[0-9a-fA-F]{6}$/),
  description: z.string().max(2000),
});

export const LabelingTaskAddedV1 = define({
  type: 'labeling_task.added',
  version: 1,
  topic: TOPICS.labels,
  description: 'A labeling task was added to a project.',
  data: z.object({
    taskId: id,
    name: z.string().min(1).max(100),
    kind: z.enum(['single_label', 'multi_label', 'span']),
    /** the text attribute labeled; null = the whole record */
    attribute: z.string().min(1).max(200).nullable(),
    allowOverlap: z.boolean(),
  }),
});
export const LabelingTaskRenamedV1 = define({
  type: 'labeling_task.renamed',
  version: 1,
  topic: TOPICS.labels,
  description: 'A labeling task got a new name.',
  data: z.object({ taskId: id, name: z.string().min(1).max(100) }),
});
export const LabelingTaskRemovedV1 = define({
  type: 'labeling_task.removed',
  version: 1,
  topic: TOPICS.labels,
  description: 'A labeling task was removed: every label of it is gone.',
  data: z.object({ taskId: id }),
});
export const LabelAddedV1 = define({
  type: 'label.added',
  version: 1,
  topic: TOPICS.labels,
  description: 'A label was added to a task.',
  data: labelDefinition,
});
export const LabelChangedV1 = define({
  type: 'label.changed',
  version: 1,
  topic: TOPICS.labels,
  description: "A label's definition changed (the whole new definition).",
  data: labelDefinition,
});
export const LabelsMergedV1 = define({
  type: 'labels.merged',
  version: 1,
  topic: TOPICS.labels,
  description: 'Every assignment of the source labels now counts as the target label (the source labels are gone).',
  data: z.object({ taskId: id, sourceLabelIds: z.array(id).min(1), targetLabelId: id }),
});
export const LabelRemovedV1 = define({
  type: 'label.removed',
  version: 1,
  topic: TOPICS.labels,
  description: 'A label and every assignment of it were removed.',
  data: z.object({ taskId: id, labelId: id }),
});
export const RecordLabeledV1 = define({
  type: 'record.labeled',
  version: 1,
  topic: TOPICS.labels,
  description: "An annotator's complete answer for one task on one record; it replaces that annotator's previous answer (empty lists clear it).",
  data: z.object({ recordId, taskId: id, annotator: z.string().min(1).max(200), labelIds: z.array(id), spans: z.array(spanSchema) }),
});
export const GoldLabelSetV1 = define({
  type: 'gold_label.set',
  version: 1,
  topic: TOPICS.labels,
  description: "An expert's decision for one task on one record; it replaces the previous gold label.",
  data: z.object({ recordId, taskId: id, decidedBy: z.string().min(1).max(200), labelIds: z.array(id), spans: z.array(spanSchema) }),
});
export const GoldLabelClearedV1 = define({
  type: 'gold_label.cleared',
  version: 1,
  topic: TOPICS.labels,
  description: 'The gold label of one task on one record was cleared.',
  data: z.object({ recordId, taskId: id }),
});

// ---- records -------------------------------------------------------------------------------------

const attributeValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const RecordImportStartedV1 = define({
  type: 'record_import.started',
  version: 1,
  topic: TOPICS.records,
  description: 'An import began; its records follow in `records.imported` messages.',
  data: z.object({
    importId: z.uuid(),
    format: z.enum(['csv', 'json', 'jsonl']),
    attributes: z.array(z.object({ name: z.string().min(1).max(200), type: z.enum(['text', 'category', 'integer', 'float', 'boolean']) })),
    primaryKey: z.string().nullable(),
    recordCount: z.number().int().nonnegative(),
    fileName: z.string().nullable(),
  }),
});
export const RecordsImportedV1 = define({
  type: 'records.imported',
  version: 1,
  topic: TOPICS.records,
  description: 'A batch of imported records with their attribute values (large batches arrive in several parts).',
  data: z.object({
    importId: z.uuid(),
    records: z.array(z.object({ id: recordId, values: z.record(z.string(), attributeValue) })).min(1),
  }),
});
export const RecordImportCompletedV1 = define({
  type: 'record_import.completed',
  version: 1,
  topic: TOPICS.records,
  description: 'An import finished; every record of it was published before this message.',
  data: z.object({ importId: z.uuid(), recordCount: z.number().int().nonnegative() }),
});

// ---- heuristics and their runs -------------------------------------------------------------------

export const HeuristicCreatedV1 = define({
  type: 'heuristic.created',
  version: 1,
  topic: TOPICS.heuristicRuns,
  description: 'A heuristic (labeling function, lookup list or external source) was created for a task. Its code is not published.',
  data: z.object({
    heuristicId: id,
    name: z.string().min(1).max(100),
    taskId: id,
    type: z.enum(['labeling_function', 'lookup_list', 'external']),
    language: z.enum(['javascript', 'typescript', 'python']).nullable(),
  }),
});
export const HeuristicDeletedV1 = define({
  type: 'heuristic.deleted',
  version: 1,
  topic: TOPICS.heuristicRuns,
  description: 'A heuristic was deleted; its weak labels no longer count.',
  data: z.object({ heuristicId: id }),
});
export const HeuristicRunRequestedV1 = define({
  type: 'heuristic_run.requested',
  version: 1,
  topic: TOPICS.heuristicRuns,
  description: 'A run of a heuristic was requested (sample: only the first N records, a preview).',
  data: z.object({ heuristicId: id, runId: z.uuid(), codeHash: sha256, sample: z.number().int().positive().nullable() }),
});
export const HeuristicRunCompletedV1 = define({
  type: 'heuristic_run.completed',
  version: 1,
  topic: TOPICS.heuristicRuns,
  description: 'A run finished; for a full run (sample null) its votes follow on the weak-labels topic.',
  data: z.object({
    heuristicId: id,
    runId: z.uuid(),
    codeHash: sha256,
    votesArtifact: sha256,
    counts: z.object({
      records: z.number().int().nonnegative(),
      votes: z.number().int().nonnegative(),
      byLabel: z.record(z.string(), z.number().int().nonnegative()),
    }),
    durationMs: z.number().nonnegative(),
    sample: z.number().int().positive().nullable(),
  }),
});
export const HeuristicRunFailedV1 = define({
  type: 'heuristic_run.failed',
  version: 1,
  topic: TOPICS.heuristicRuns,
  description: "A run failed with the user's error (kind, message, record and line where known).",
  data: z.object({
    heuristicId: id,
    runId: z.uuid(),
    error: z.object({
      kind: z.enum(['syntax', 'runtime', 'timeout', 'memory', 'invalid_output', 'configuration', 'internal']),
      message: z.string().max(10_000),
      recordId: recordId.nullable(),
      line: z.number().int().positive().nullable(),
    }),
    durationMs: z.number().nonnegative(),
  }),
});
export const HeuristicRunCancelledV1 = define({
  type: 'heuristic_run.cancelled',
  version: 1,
  topic: TOPICS.heuristicRuns,
  description: 'A run was cancelled before it finished.',
  data: z.object({ heuristicId: id, runId: z.uuid() }),
});

export const WeakLabelsPublishedV1 = define({
  type: 'weak_labels.published',
  version: 1,
  topic: TOPICS.weakLabels,
  description:
    "The votes of a completed full heuristic run (weak labels), in parts of at most a few thousand records. They replace the heuristic's earlier votes once every part of the run has arrived.",
  data: z.object({
    heuristicId: id,
    runId: z.uuid(),
    kind: z.enum(['classification', 'extraction']),
    /** this message is chunk `chunk` (from 0) of `chunks` for the run */
    chunk: z.number().int().nonnegative(),
    chunks: z.number().int().positive(),
    /** classification: one label per record; extraction: spans (character offsets) per record */
    votes: z.array(
      z.object({
        recordId,
        labelId: id.nullable(),
        spans: z.array(z.object({ labelId: id, start: z.number().int().nonnegative(), end: z.number().int().nonnegative() })).nullable(),
      }),
    ),
  }),
});

export const WeakSupervisionCompletedV1 = define({
  type: 'weak_supervision.completed',
  version: 1,
  topic: TOPICS.weakLabels,
  description:
    "A weak-supervision run of a task finished (label model over the chosen heuristics); its weak labels with confidences follow in `weak_supervision_labels.published` chunks and replace the task's earlier ones once all arrived.",
  data: z.object({
    taskId: id,
    runId: z.uuid(),
    model: z.string().min(1).max(50),
    heuristicIds: z.array(id),
    counts: z.object({
      records: z.number().int().nonnegative(),
      covered: z.number().int().nonnegative(),
      labeled: z.number().int().nonnegative(),
      byLabel: z.record(z.string(), z.number().int().nonnegative()),
    }),
    meanConfidence: z.number().min(0).max(1),
  }),
});
export const WeakSupervisionFailedV1 = define({
  type: 'weak_supervision.failed',
  version: 1,
  topic: TOPICS.weakLabels,
  description: 'A weak-supervision run failed; the earlier weak labels stay.',
  data: z.object({ taskId: id, runId: z.uuid(), error: z.object({ kind: z.string().max(50), message: z.string().max(10_000) }) }),
});
export const WeakSupervisionLabelsPublishedV1 = define({
  type: 'weak_supervision_labels.published',
  version: 1,
  topic: TOPICS.weakLabels,
  description: 'The weak labels of a completed weak-supervision run with their confidences, 2,000 records per chunk.',
  data: z.object({
    taskId: id,
    runId: z.uuid(),
    kind: z.enum(['classification', 'multi_label', 'extraction']),
    chunk: z.number().int().nonnegative(),
    chunks: z.number().int().positive(),
    /** classification and multi_label: `labels`; extraction: `spans` (offsets as in record.labeled) */
    records: z.array(
      z.object({
        recordId,
        labels: z.array(z.object({ labelId: id, confidence: z.number().min(0).max(1) })),
        spans: z.array(spanSchema.extend({ confidence: z.number().min(0).max(1) })),
      }),
    ),
  }),
});

// ---- membership ----------------------------------------------------------------------------------

export const MemberAddedV1 = define({
  type: 'member.added',
  version: 1,
  topic: TOPICS.membership,
  description: 'A user joined the project with a role.',
  data: z.object({ userId: z.uuid(), role }),
});
export const MemberRoleChangedV1 = define({
  type: 'member.role_changed',
  version: 1,
  topic: TOPICS.membership,
  description: "A member's role changed.",
  data: z.object({ userId: z.uuid(), role, previousRole: role }),
});
export const MemberRemovedV1 = define({
  type: 'member.removed',
  version: 1,
  topic: TOPICS.membership,
  description: 'A user left the project.',
  data: z.object({ userId: z.uuid(), previousRole: role }),
});

// ---- dead letters --------------------------------------------------------------------------------

export const EventDeadLetteredV1 = define({
  type: 'event.dead_lettered',
  version: 1,
  topic: TOPICS.deadLetter,
  description:
    'A log event the relay could not publish (too large for the broker, or not translatable). It is referenced here, with the reason, instead of being skipped silently; fetch it from the product by its position.',
  data: z.object({
    eventId: z.uuid(),
    eventType: z.string(),
    streamId: z.string(),
    /** the integration topic it was meant for, if known */
    topic: z.string().nullable(),
    /** the part of the event that was refused (events split into parts), else 0 */
    part: z.number().int().nonnegative(),
    reason: z.enum(['too_large', 'untranslatable']),
    message: z.string().max(10_000),
    /** size in bytes of the message that was refused, if known */
    sizeBytes: z.number().int().nonnegative().nullable(),
  }),
});

export const integrationEventDefinitions = [
  ProjectCreatedV1,
  ProjectRenamedV1,
  ProjectDeletedV1,
  LabelingTaskAddedV1,
  LabelingTaskRenamedV1,
  LabelingTaskRemovedV1,
  LabelAddedV1,
  LabelChangedV1,
  LabelsMergedV1,
  LabelRemovedV1,
  RecordLabeledV1,
  GoldLabelSetV1,
  GoldLabelClearedV1,
  RecordImportStartedV1,
  RecordsImportedV1,
  RecordImportCompletedV1,
  HeuristicCreatedV1,
  HeuristicDeletedV1,
  HeuristicRunRequestedV1,
  HeuristicRunCompletedV1,
  HeuristicRunFailedV1,
  HeuristicRunCancelledV1,
  WeakLabelsPublishedV1,
  WeakSupervisionCompletedV1,
  WeakSupervisionFailedV1,
  WeakSupervisionLabelsPublishedV1,
  MemberAddedV1,
  MemberRoleChangedV1,
  MemberRemovedV1,
  EventDeadLetteredV1,
] as const;

type Definitions = (typeof integrationEventDefinitions)[number];
export type IntegrationEventType = Definitions['type'];
/** The `data` of an integration event type. */
export type IntegrationData<T extends IntegrationEventType> = z.output<Extract<Definitions, { type: T }>['data']>;
