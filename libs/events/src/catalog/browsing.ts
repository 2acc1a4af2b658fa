import { z } from 'zod';
import { defineEvent, type EventOf } from '../catalog.ts';

/** One stream per labeling session: `session:<projectId>:<sessionId>`. Slices live on the project stream. */
export const sessionStreamId = (projectId: string, sessionId: string) => `session:${projectId}:${sessionId}`;

export const attributeOps = ['eq', 'neq', 'contains', 'regex', 'gt', 'gte', 'lt', 'lte', 'between', 'in', 'is_null', 'is_not_null'] as const;
export type AttributeOp = (typeof attributeOps)[number];
export const labelSources = ['manual', 'gold', 'reference', 'heuristic', 'weak_supervision', 'any', 'crowd'] as const;
export type LabelSource = (typeof labelSources)[number];

/** The data browser's filter grammar (see docs/data-browser.md). */
export type Filter =
  | { all: Filter[] }
  | { any: Filter[] }
  | { not: Filter }
  | { attribute: string; op: AttributeOp; value?: unknown; caseSensitive?: boolean }
  | { label: { taskId: string; source: LabelSource; labelId?: string | null; annotator?: string } }
  | { disagreement: { taskId: string } }
  | { confidence: { taskId: string; min?: number; max?: number } }
  | { hasComments: boolean }
  | { recordIds: string[] }
  | { slice: string };

const taskId = z.string().min(1).max(64);
/** Structural schema used when events are written; the API validates with clearer messages first. */
export const filterSchema: z.ZodType<Filter> = z.lazy(() =>
  z.union([
    z.object({ all: z.array(filterSchema) }).strict(),
    z.object({ any: z.array(filterSchema) }).strict(),
    z.object({ not: filterSchema }).strict(),
    z
      .object({ attribute: z.string().min(1).max(200), op: z.enum(attributeOps), value: z.unknown().optional(), caseSensitive: z.boolean().optional() })
      .strict(),
    z
      .object({
        label: z
          .object({ taskId, source: z.enum(labelSources), labelId: z.string().min(1).max(64).nullable().optional(), annotator: z.string().min(1).max(200).optional() })
          .strict(),
      })
      .strict(),
    z.object({ disagreement: z.object({ taskId }).strict() }).strict(),
    z.object({ confidence: z.object({ taskId, min: z.number().optional(), max: z.number().optional() }).strict() }).strict(),
    z.object({ hasComments: z.boolean() }).strict(),
    z.object({ recordIds: z.array(z.string().min(1).max(512)).max(10_000) }).strict(),
    z.object({ slice: z.string().min(1).max(64) }).strict(),
  ]),
) as z.ZodType<Filter>;

const id = z.string().min(1).max(64);
const sliceName = z.string().trim().min(1).max(100);

/** A saved view of the data browser: `dynamic` keeps the filter, `static` the record ids it matched. */
export const SliceSaved = defineEvent({
  type: 'SliceSaved',
  schema: z.object({
    projectId: z.uuid(),
    sliceId: id,
    name: sliceName,
    kind: z.enum(['dynamic', 'static']),
    filter: filterSchema.optional(),
    recordIds: z.array(z.string().min(1).max(512)).max(10_000).optional(),
  }),
});
export const SliceDeleted = defineEvent({
  type: 'SliceDeleted',
  schema: z.object({ projectId: z.uuid(), sliceId: id }),
});

/**
 * One user's labeling session. `filter` has every slice inlined (later edits of a slice do not
 * move the session); `maxSeq` bounds it to the records that existed when it started.
 */
export const LabelingSessionStarted = defineEvent({
  type: 'LabelingSessionStarted',
  schema: z.object({
    projectId: z.uuid(),
    sessionId: z.uuid(),
    name: z.string().trim().min(1).max(200),
    owner: z.string().min(1).max(200),
    sliceId: id.nullable(),
    filter: filterSchema.nullable(),
    order: z.enum(['ordered', 'shuffled']),
    seed: z.string().max(200),
    maxSeq: z.string().regex(/^\d{1,19}$/),
    total: z.number().int().nonnegative(),
  }),
});

export type SliceSaved = EventOf<typeof SliceSaved>;
export type SliceDeleted = EventOf<typeof SliceDeleted>;
export type SliceEvent = SliceSaved | SliceDeleted;
export type LabelingSessionStarted = EventOf<typeof LabelingSessionStarted>;

export const browsingEvents = [SliceSaved, SliceDeleted, LabelingSessionStarted] as const;
