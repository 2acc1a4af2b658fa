import { z } from 'zod';
import { defineEvent, type EventOf } from '../catalog.ts';

/** One stream per import: its start, its record batches and its completion land in one transaction. */
export const importStreamId = (projectId: string, importId: string) => `import:${projectId}:${importId}`;

export const attributeType = z.enum(['text', 'category', 'integer', 'float', 'boolean']);
export const attributeSpec = z.object({ name: z.string().min(1).max(200), type: attributeType });
export const attributeValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const RecordImportStarted = defineEvent({
  type: 'RecordImportStarted',
  schema: z.object({
    projectId: z.uuid(),
    importId: z.uuid(),
    format: z.enum(['csv', 'json', 'jsonl']),
    attributes: z.array(attributeSpec),
    primaryKey: z.string().nullable(),
    recordCount: z.number().int().nonnegative(),
    /** SHA-256 of the uploaded bytes, kept in the artifact store */
    fileHash: z.string().regex(/^[0-9a-f]{64}$/),
    fileName: z.string().nullable(),
  }),
});

/** A batch of records (at most a few thousand) so the log stays compact and replays fast. */
export const RecordsImported = defineEvent({
  type: 'RecordsImported',
  schema: z.object({
    projectId: z.uuid(),
    importId: z.uuid(),
    records: z.array(z.object({ id: z.string().min(1).max(512), values: z.record(z.string(), attributeValue) })).min(1),
  }),
});

export const RecordImportCompleted = defineEvent({
  type: 'RecordImportCompleted',
  schema: z.object({ projectId: z.uuid(), importId: z.uuid(), recordCount: z.number().int().nonnegative() }),
});

export type RecordImportStarted = EventOf<typeof RecordImportStarted>;
export type RecordsImported = EventOf<typeof RecordsImported>;
export type RecordImportCompleted = EventOf<typeof RecordImportCompleted>;
export type RecordEvent = RecordImportStarted | RecordsImported | RecordImportCompleted;
export const recordEvents = [RecordImportStarted, RecordsImported, RecordImportCompleted] as const;
