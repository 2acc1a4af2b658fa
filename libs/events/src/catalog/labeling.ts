import { z } from 'zod';
import { defineEvent, type EventOf } from '../catalog.ts';

/** One stream per record for its labels and comments: small, and hot only while people label it. */
export const recordStreamId = (projectId: string, recordId: string) => `record:${projectId}:${recordId}`;

export const taskKind = z.enum(['single_label', 'multi_label', 'span']);
const id = z.string().min(1).max(64);
const labelName = z.string().trim().min(1).max(100);
const color = z.string().regex(/^#[0-9a-fA-F]{6}$/);
const hotkey = z.string().regex(/^[a-z0-9]$/).nullable();

// --- task and label configuration: on the project stream ---

export const LabelingTaskAdded = defineEvent({
  type: 'LabelingTaskAdded',
  schema: z.object({
    projectId: z.uuid(),
    taskId: id,
    name: z.string().trim().min(1).max(100),
    kind: taskKind,
    /** the text attribute labeled (required for spans; null = the whole record) */
    attribute: z.string().min(1).max(200).nullable(),
    /** spans of one annotator may overlap */
    allowOverlap: z.boolean(),
  }),
});
export const LabelingTaskRenamed = defineEvent({
  type: 'LabelingTaskRenamed',
  schema: z.object({ projectId: z.uuid(), taskId: id, name: z.string().trim().min(1).max(100) }),
});
export const LabelingTaskRemoved = defineEvent({
  type: 'LabelingTaskRemoved',
  schema: z.object({ projectId: z.uuid(), taskId: id }),
});
const labelDefinition = z.object({
  projectId: z.uuid(),
  taskId: id,
  labelId: id,
  name: labelName,
  color,
  hotkey,
  description: z.string().max(2000),
});
export const LabelAdded = defineEvent({ type: 'LabelAdded', schema: labelDefinition });
/** Carries the whole new definition, not a diff: replays need no earlier state. */
export const LabelChanged = defineEvent({ type: 'LabelChanged', schema: labelDefinition });
/** Every assignment of a source label now counts as the target label. */
export const LabelsMerged = defineEvent({
  type: 'LabelsMerged',
  schema: z.object({ projectId: z.uuid(), taskId: id, sourceLabelIds: z.array(id).min(1), targetLabelId: id }),
});
/** The label and every assignment of it disappear from the read models (the log keeps them). */
export const LabelRemoved = defineEvent({
  type: 'LabelRemoved',
  schema: z.object({ projectId: z.uuid(), taskId: id, labelId: id }),
});
export const LabelingSettingsChanged = defineEvent({
  type: 'LabelingSettingsChanged',
  schema: z.object({
    projectId: z.uuid(),
    /** annotators see only their own labels */
    blindLabeling: z.boolean(),
  }),
});

// --- labels on a record: on the record's stream ---

export const span = z.object({
  labelId: id,
  /** character offsets into the task's attribute, end exclusive */
  start: z.number().int().nonnegative(),
  end: z.number().int().positive(),
  /** token range covered, end exclusive */
  tokenStart: z.number().int().nonnegative(),
  tokenEnd: z.number().int().positive(),
});

/** An annotator's complete answer for one task on one record (replaces their previous one). */
export const RecordLabeled = defineEvent({
  type: 'RecordLabeled',
  schema: z.object({
    projectId: z.uuid(),
    recordId: z.string().min(1).max(512),
    taskId: id,
    annotator: z.string().min(1).max(200),
    labelIds: z.array(id),
    spans: z.array(span),
  }),
});
/** An expert's decision where annotators disagree; it becomes the reference label. */
export const GoldLabelSet = defineEvent({
  type: 'GoldLabelSet',
  schema: z.object({
    projectId: z.uuid(),
    recordId: z.string().min(1).max(512),
    taskId: id,
    labelIds: z.array(id),
    spans: z.array(span),
  }),
});
export const GoldLabelCleared = defineEvent({
  type: 'GoldLabelCleared',
  schema: z.object({ projectId: z.uuid(), recordId: z.string().min(1).max(512), taskId: id }),
});
export const RecordCommented = defineEvent({
  type: 'RecordCommented',
  schema: z.object({
    projectId: z.uuid(),
    recordId: z.string().min(1).max(512),
    commentId: z.uuid(),
    /** markdown; rendered safely by the client */
    body: z.string().trim().min(1).max(10_000),
  }),
});
export const RecordCommentDeleted = defineEvent({
  type: 'RecordCommentDeleted',
  schema: z.object({ projectId: z.uuid(), recordId: z.string().min(1).max(512), commentId: z.uuid() }),
});

export type LabelingTaskAdded = EventOf<typeof LabelingTaskAdded>;
export type LabelingTaskRenamed = EventOf<typeof LabelingTaskRenamed>;
export type LabelingTaskRemoved = EventOf<typeof LabelingTaskRemoved>;
export type LabelAdded = EventOf<typeof LabelAdded>;
export type LabelChanged = EventOf<typeof LabelChanged>;
export type LabelsMerged = EventOf<typeof LabelsMerged>;
export type LabelRemoved = EventOf<typeof LabelRemoved>;
export type LabelingSettingsChanged = EventOf<typeof LabelingSettingsChanged>;
export type LabelingConfigEvent =
  | LabelingTaskAdded
  | LabelingTaskRenamed
  | LabelingTaskRemoved
  | LabelAdded
  | LabelChanged
  | LabelsMerged
  | LabelRemoved
  | LabelingSettingsChanged;

export type RecordLabeled = EventOf<typeof RecordLabeled>;
export type GoldLabelSet = EventOf<typeof GoldLabelSet>;
export type GoldLabelCleared = EventOf<typeof GoldLabelCleared>;
export type RecordCommented = EventOf<typeof RecordCommented>;
export type RecordCommentDeleted = EventOf<typeof RecordCommentDeleted>;
export type RecordLabelEvent = RecordLabeled | GoldLabelSet | GoldLabelCleared | RecordCommented | RecordCommentDeleted;
export type Span = z.output<typeof span>;

export const labelingEvents = [
  LabelingTaskAdded,
  LabelingTaskRenamed,
  LabelingTaskRemoved,
  LabelAdded,
  LabelChanged,
  LabelsMerged,
  LabelRemoved,
  LabelingSettingsChanged,
  RecordLabeled,
  GoldLabelSet,
  GoldLabelCleared,
  RecordCommented,
  RecordCommentDeleted,
] as const;
