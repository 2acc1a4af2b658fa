import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { importStreamId } from '@refinery/events';
import { assertProjectActive } from '@refinery/domain';
import { analyzeImport, formatFromContentType, readRecords, ImportError } from '@refinery/importing';
import { decodeCursor, existingRecordIds, getProject, getRecord, listRecords } from '@refinery/read-models';
import type { ApiContext } from '../context.ts';
import { HttpError } from '../http/errors.ts';
import { defineRoute, type AnyRoute } from '../http/routes.ts';
import { afterQuery, readAfter } from './consistency.ts';
import { loadProject } from './projects.ts';

const IMPORT_CONTENT_TYPES = ['text/csv', 'application/json', 'application/x-ndjson'];
/** records per RecordsImported event */
const RECORDS_PER_EVENT = 1000;

const recordValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const recordView = z.object({ id: z.string(), seq: z.number().int(), values: z.record(z.string(), recordValue) });
const projectParams = z.object({ id: z.uuid() });

export function recordRoutes(ctx: ApiContext): AnyRoute[] {
  return [
    defineRoute({
      method: 'post',
      path: '/api/projects/:id/imports',
      summary: 'Import records from a file',
      description:
        'The body is the file itself. CSV needs a header row; JSON is an array of objects; JSONL one object per line. ' +
        'Attribute types (text, category, integer, float, boolean) are inferred from all values. The import lands whole or not at all.',
      tags: ['records'],
      permission: 'project:manage',
      params: projectParams,
      query: z.object({
        primaryKey: z.string().min(1).max(200).optional().describe('attribute whose values become record ids (unique)'),
        fileName: z.string().max(500).optional().describe('original file name, kept for audit'),
      }),
      rawBody: { contentTypes: IMPORT_CONTENT_TYPES, limitBytes: ctx.config.maxUploadBytes, description: 'the file' },
      responses: {
        201: {
          description: 'imported',
          schema: z.object({ importId: z.uuid(), records: z.number().int(), position: z.string() }),
        },
      },
      async handler({ params, query, req, actor }) {
        const contentType = req.headers['content-type'];
        const format = formatFromContentType(contentType);
        if (!format) {
          throw new HttpError(415, 'unsupported_media_type', `cannot import Content-Type "${contentType ?? '(none)'}"`, {
            contentType: contentType ?? null,
            allowed: IMPORT_CONTENT_TYPES,
          });
        }
        const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const projectId = params.id;
        assertProjectActive((await loadProject(ctx.store, projectId)).state, projectId);

        // Attribute types and existing ids come from read models: let them reach the head first.
        await readAfter(ctx, await ctx.store.head(), ['projects', 'records']);
        const existingAttributes = (await getProject(ctx.db, projectId))?.attributes ?? [];
        const plan = await analyzeImport(bytes, {
          format,
          ...(query.primaryKey ? { primaryKey: query.primaryKey } : {}),
          limits: { ...ctx.config.importLimits, maxBytes: ctx.config.maxUploadBytes },
          existingAttributes,
        });
        if (plan.primaryKey) {
          for await (const batch of readRecords(bytes, plan, 5000)) {
            const taken = await existingRecordIds(ctx.db, projectId, batch.map((r) => r.key!));
            if (taken.length) {
              throw new ImportError('duplicate_primary_key', `record id "${taken[0]}" already exists in this project`, {
                attribute: plan.primaryKey,
                value: taken[0],
                existing: true,
              });
            }
          }
        }

        const fileHash = await ctx.artifacts.put(bytes, contentType ?? 'application/octet-stream');
        const importId = randomUUID();
        const streamId = importStreamId(projectId, importId);
        const result = await ctx.store.transaction(async (log) => {
          let revision = (
            await log.append(
              streamId,
              [
                {
                  type: 'RecordImportStarted',
                  data: {
                    projectId,
                    importId,
                    format,
                    attributes: plan.attributes,
                    primaryKey: plan.primaryKey ?? null,
                    recordCount: plan.recordCount,
                    fileHash,
                    fileName: query.fileName ?? null,
                  },
                },
              ],
              { actor, expectedRevision: 'no_stream' },
            )
          ).revision;
          for await (const batch of readRecords(bytes, plan, RECORDS_PER_EVENT)) {
            const records = batch.map((r) => ({ id: r.key ?? randomUUID(), values: r.values }));
            revision = (await log.append(streamId, [{ type: 'RecordsImported', data: { projectId, importId, records } }], { actor, expectedRevision: revision }))
              .revision;
          }
          return log.append(
            streamId,
            [{ type: 'RecordImportCompleted', data: { projectId, importId, recordCount: plan.recordCount } }],
            { actor, expectedRevision: revision },
          );
        });
        return { status: 201, body: { importId, records: plan.recordCount, position: result.position } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/records',
      summary: 'List records in import order',
      tags: ['records'],
      permission: 'project:read',
      params: projectParams,
      query: z.object({
        limit: z.coerce.number().int().min(1).max(500).default(50),
        cursor: z.string().max(100).optional().describe('nextCursor of the previous page'),
        after: afterQuery,
      }),
      responses: {
        200: {
          description: 'a page of records',
          schema: z.object({ records: z.array(recordView), total: z.number().int(), nextCursor: z.string().nullable() }),
        },
      },
      async handler({ params, query }) {
        await readAfter(ctx, query.after, ['projects', 'records']);
        if (!(await getProject(ctx.db, params.id))) {
          throw new HttpError(404, 'project_not_found', `project ${params.id} does not exist`, { projectId: params.id });
        }
        let after: bigint | undefined;
        if (query.cursor !== undefined) {
          after = decodeCursor(query.cursor);
          if (after === undefined) throw new HttpError(400, 'invalid_cursor', 'the cursor is not one this API returned', { cursor: query.cursor });
        }
        return { body: await listRecords(ctx.db, params.id, { limit: query.limit, ...(after !== undefined ? { after } : {}) }) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/records/:recordId',
      summary: 'Get one record',
      tags: ['records'],
      permission: 'project:read',
      params: projectParams.extend({ recordId: z.string().min(1).max(512) }),
      query: z.object({ after: afterQuery }),
      responses: { 200: { description: 'the record', schema: recordView } },
      async handler({ params, query }) {
        await readAfter(ctx, query.after, ['records']);
        const record = await getRecord(ctx.db, params.id, params.recordId);
        if (!record) {
          throw new HttpError(404, 'record_not_found', `record ${params.recordId} does not exist in project ${params.id}`, {
            projectId: params.id,
            recordId: params.recordId,
          });
        }
        return { body: record };
      },
    }),
  ];
}
