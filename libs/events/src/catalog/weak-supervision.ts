import { z } from 'zod';
import { defineEvent, type EventOf } from '../catalog.ts';

/**
 * One stream per labeling task for weak supervision: its configuration and its runs
 * (`weak-supervision:<projectId>:<taskId>`).
 */
export const weakSupervisionStreamId = (projectId: string, taskId: string) => `weak-supervision:${projectId}:${taskId}`;

const id = z.string().min(1).max(64);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
/** the label models of libs/weak-supervision (docs/weak-supervision.md) */
export const weakSupervisionModel = z.enum(['ours', 'mv', 'refinery', 'ds']);
/** at most this many heuristics in one run */
export const MAX_WS_HEURISTICS = 200;
const heuristicIds = z.array(id).max(MAX_WS_HEURISTICS);
const confidence = z.number().min(0).max(1);

/** Options of a run passed to the model (everything else uses the library's one default configuration). */
export const weakSupervisionParameters = z
  .object({
    /** multi-label tasks: a label is given when its probability is at least this (default 0.5) */
    threshold: confidence.optional(),
  })
  .strict();

export const WeakSupervisionConfigured = defineEvent({
  type: 'WeakSupervisionConfigured',
  schema: z.object({
    projectId: z.uuid(),
    taskId: id,
    /** the heuristics a run uses (by default) */
    heuristicIds,
    model: weakSupervisionModel,
    /** request a run when a chosen heuristic finishes a run or manual labels of the task change */
    autoRerun: z.boolean(),
    /** the export omits weak labels below this confidence unless the export asks for another minimum */
    minConfidence: confidence,
  }),
});

export const WeakSupervisionRequested = defineEvent({
  type: 'WeakSupervisionRequested',
  schema: z.object({
    projectId: z.uuid(),
    taskId: id,
    runId: z.uuid(),
    model: weakSupervisionModel,
    heuristicIds: heuristicIds.min(1),
    parameters: weakSupervisionParameters,
    /** `manual`: a person asked; `auto`: the auto re-run after a heuristic run or a label change */
    trigger: z.enum(['manual', 'auto']),
    /** the user id, or `auto` */
    requestedBy: z.string().min(1).max(200),
  }),
});

export const weakSupervisionHeuristicUse = z.object({
  heuristicId: id,
  /** the heuristic's latest completed full run whose votes were used; null: it had none (no votes) */
  runId: z.uuid().nullable(),
  votesArtifact: sha256.nullable(),
  /** records this heuristic voted on */
  votes: z.number().int().nonnegative(),
});

export const WeakSupervisionCompleted = defineEvent({
  type: 'WeakSupervisionCompleted',
  schema: z.object({
    projectId: z.uuid(),
    taskId: id,
    runId: z.uuid(),
    model: weakSupervisionModel,
    parameters: weakSupervisionParameters,
    heuristics: z.array(weakSupervisionHeuristicUse),
    /** SHA-256 of the weak labels + confidences artifact (format: docs/weak-supervision.md) */
    resultArtifact: sha256,
    counts: z.object({
      /** records of the project */
      records: z.number().int().nonnegative(),
      /** records at least one chosen heuristic voted on */
      covered: z.number().int().nonnegative(),
      /** records given a weak label */
      labeled: z.number().int().nonnegative(),
      /** records with a reference manual label used for fitting */
      manual: z.number().int().nonnegative(),
      /** weak labels (classification) or spans (extraction) per label id */
      byLabel: z.record(z.string(), z.number().int().nonnegative()),
    }),
    /** mean confidence of the weak labels (0 when there are none) */
    meanConfidence: confidence,
    /** share of each heuristic's votes that agree with the weak label (null without votes) */
    agreement: z.record(z.string(), confidence.nullable()),
    durationMs: z.number().nonnegative(),
  }),
});

export const weakSupervisionError = z.object({
  kind: z.enum(['configuration', 'internal']),
  message: z.string().max(10_000),
});

export const WeakSupervisionFailed = defineEvent({
  type: 'WeakSupervisionFailed',
  schema: z.object({ projectId: z.uuid(), taskId: id, runId: z.uuid(), error: weakSupervisionError, durationMs: z.number().nonnegative() }),
});

/** An automatic run that was not started because a later request of the same task covers it. */
export const WeakSupervisionSuperseded = defineEvent({
  type: 'WeakSupervisionSuperseded',
  schema: z.object({ projectId: z.uuid(), taskId: id, runId: z.uuid(), by: z.uuid() }),
});

export type WeakSupervisionConfigured = EventOf<typeof WeakSupervisionConfigured>;
export type WeakSupervisionRequested = EventOf<typeof WeakSupervisionRequested>;
export type WeakSupervisionCompleted = EventOf<typeof WeakSupervisionCompleted>;
export type WeakSupervisionFailed = EventOf<typeof WeakSupervisionFailed>;
export type WeakSupervisionSuperseded = EventOf<typeof WeakSupervisionSuperseded>;
export type WeakSupervisionModel = z.output<typeof weakSupervisionModel>;
export type WeakSupervisionParameters = z.output<typeof weakSupervisionParameters>;
export type WeakSupervisionError = z.output<typeof weakSupervisionError>;
export type WeakSupervisionEvent = WeakSupervisionConfigured | WeakSupervisionRequested | WeakSupervisionCompleted | WeakSupervisionFailed | WeakSupervisionSuperseded;

export const weakSupervisionEvents = [WeakSupervisionConfigured, WeakSupervisionRequested, WeakSupervisionCompleted, WeakSupervisionFailed, WeakSupervisionSuperseded] as const;

/**
 * The weak labels of a completed run (JSON, UTF-8): only records that got a weak label.
 * - classification (single label): `labels[i]` a label id, `confidences[i]` its probability;
 * - multi_label: `labels[i]` label ids, `confidences[i]` the probability of each;
 * - extraction: `labels[i]` spans `[labelId, start, end, tokenStart, tokenEnd]` (character offsets
 *   into the task attribute, ends exclusive), `confidences[i]` one per span.
 */
export interface WeakLabelsArtifact {
  format: 'refinery.weak-labels.v1';
  kind: 'classification' | 'multi_label' | 'extraction';
  recordIds: string[];
  labels: Array<string | string[] | Array<[string, number, number, number, number]>>;
  confidences: Array<number | number[]>;
}
