import { randomBytes, randomUUID } from 'node:crypto';
import type { Request } from 'express';
import { z } from 'zod';
import { crowdLinkStreamId, projectStreamId, WrongExpectedRevisionError, type Event } from '@refinery/events';
import {
  assertProjectActive,
  crowdLinkRefusal,
  crowdRecordsDone,
  decideCrowdLabel,
  emptyCrowdLink,
  emptySlices,
  evolveCrowdLink,
  evolveSlices,
  fold,
  normalizeAnswer,
  projectDecider,
  requireTask,
  DomainError,
  type CrowdHolder,
  type CrowdLinkState,
} from '@refinery/domain';
import { safeEqual, sha256Hex, uuidFromHash } from '@refinery/identity';
import { getRecord, listCrowdLinks, loadBrowseContext, prepareFilter, type BrowseContext } from '@refinery/read-models';
import type { ApiContext } from '../context.ts';
import { HttpError } from '../http/errors.ts';
import { defineRoute, type AnyRoute } from '../http/routes.ts';
import { afterQuery, readAfter } from './consistency.ts';
import { LabelingState } from './labeling.ts';
import { loadProject } from './projects.ts';

/**
 * Crowd links (docs/crowd.md). Owners and engineers create and revoke them (`project:members`);
 * whoever has a link joins under a pseudonym and gets a crowd credential that only the
 * `/api/crowd/:token/…` routes accept (every other route answers 403 to it, see http/auth.ts).
 * Those routes are `public` in the route table: they check the link and the credential
 * themselves, against the link's own stream (never a lagging read model).
 */

export const CROWD_LINK_PREFIX = 'rfyl_';
export const CROWD_CREDENTIAL_PREFIX = 'rfyc_';
const SECRET = /^[A-Za-z0-9_-]{43}$/;
const LIMITS = { maxQuota: 10_000, maxExpiresInHours: 24 * 90 } as const;

export const isCrowdCredential = (token: string) => token.startsWith(CROWD_CREDENTIAL_PREFIX);
const secret = () => randomBytes(32).toString('base64url');
const linkTokenHash = (token: string) => sha256Hex(`crowd-link:${token}`);
/** The stream of a link follows from its token: the server needs nothing else to find it. */
const linkIdOf = (token: string) => uuidFromHash(sha256Hex(`crowd-link-id:${token}`));
const credentialHash = (credential: string) => sha256Hex(`crowd-holder:${credential}`);

const tokenParam = z.object({ token: z.string().min(1).max(200) });
const taskView = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.enum(['single_label', 'multi_label', 'span']),
  attribute: z.string().nullable(),
  labels: z.array(z.object({ id: z.string(), name: z.string(), color: z.string(), hotkey: z.string().nullable() })),
});
const progressView = z.object({ done: z.number().int(), quota: z.number().int() });
const answerView = z.object({ taskId: z.string(), labelIds: z.array(z.string()), spans: z.array(z.object({ labelId: z.string(), start: z.number(), end: z.number() })) });
const linkView = z.object({
  id: z.uuid(),
  name: z.string(),
  sliceId: z.string(),
  taskId: z.string().nullable(),
  quota: z.number().int(),
  prefix: z.string(),
  expiresAt: z.string(),
  createdBy: z.string(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
  status: z.enum(['active', 'expired', 'revoked']),
  holders: z.number().int(),
  recordsLabeled: z.number().int(),
});

interface Folded {
  revision: bigint | undefined;
  state: CrowdLinkState;
}

/**
 * Link streams folded per API process (bounded, least recently used out). Each use reads only
 * what was appended since; events at or below the folded revision are skipped, so concurrent
 * catch-ups cannot fold an older read over a newer one.
 */
class CrowdLinks {
  private readonly entries = new Map<string, Folded>();
  constructor(
    private readonly ctx: ApiContext,
    private readonly capacity = 1_000,
  ) {}

  async load(linkId: string): Promise<Folded> {
    const streamId = crowdLinkStreamId(linkId);
    let entry = this.entries.get(streamId);
    if (!entry) entry = { revision: undefined, state: emptyCrowdLink() };
    const events = await this.ctx.store.readStream(streamId, entry.revision !== undefined ? { fromRevision: entry.revision + 1n } : {});
    for (const e of events) {
      if (entry.revision !== undefined && e.revision <= entry.revision) continue;
      evolveCrowdLink(entry.state, e);
      entry.revision = e.revision;
    }
    this.entries.delete(streamId);
    if (entry.revision !== undefined) this.entries.set(streamId, entry);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
    return entry;
  }

  /** Appends what `decide` returns on the current state; a concurrent append is re-decided (a few times). */
  async command(linkId: string, actor: string, decide: (state: CrowdLinkState) => Event[]): Promise<{ position: string; state: CrowdLinkState }> {
    for (let attempt = 0; ; attempt++) {
      const { revision, state } = await this.load(linkId);
      const events = decide(state);
      if (events.length === 0) return { position: await this.ctx.store.head(), state };
      try {
        const r = await this.ctx.store.append(crowdLinkStreamId(linkId), events, { actor, expectedRevision: revision ?? 'no_stream' });
        return { position: r.position, state: (await this.load(linkId)).state };
      } catch (err) {
        if (!(err instanceof WrongExpectedRevisionError) || attempt >= 4) throw err;
      }
    }
  }
}

function unusable(err: DomainError): HttpError {
  // an unknown token is answered like a wrong one: 401, nothing about which links exist
  if (err.code === 'crowd_link_not_found') return new HttpError(401, 'crowd_link_invalid', 'this crowd link is not valid', {});
  return new HttpError(410, err.code, err.message, err.details);
}

function bearer(req: Request): string | undefined {
  const h = req.headers.authorization;
  return h?.startsWith('Bearer ') ? h.slice('Bearer '.length).trim() : undefined;
}

export function crowdRoutes(ctx: ApiContext): AnyRoute[] {
  const links = new CrowdLinks(ctx);
  const labeling = new LabelingState(ctx);

  /** The link behind a token, refused (401/410) unless it can be used now. */
  async function usableLink(token: string) {
    if (!token.startsWith(CROWD_LINK_PREFIX) || !SECRET.test(token.slice(CROWD_LINK_PREFIX.length))) throw unusable(new DomainError('not_found', 'crowd_link_not_found', '', {}));
    const linkId = linkIdOf(token);
    const { state } = await links.load(linkId);
    const refused = crowdLinkRefusal(state, new Date());
    if (refused) throw unusable(refused);
    if (!safeEqual(state.link!.tokenHash, linkTokenHash(token))) throw unusable(new DomainError('not_found', 'crowd_link_not_found', '', {}));
    return { linkId, state, link: state.link! };
  }

  /** The holder of a crowd credential for this link: 401 `crowd_unauthenticated` otherwise. */
  async function holderOf(req: Request, token: string) {
    const found = await usableLink(token);
    const credential = bearer(req);
    const holderId = credential && isCrowdCredential(credential) ? found.state.holdersByToken.get(credentialHash(credential)) : undefined;
    if (!holderId) {
      throw new HttpError(401, 'crowd_unauthenticated', 'open the crowd link first (POST /api/crowd/:token/join) and send its credential as "Authorization: Bearer rfyc_…"', {});
    }
    return { ...found, holder: found.state.holders.get(holderId)! };
  }

  async function scope(projectId: string): Promise<BrowseContext> {
    const c = await loadBrowseContext(ctx.db, projectId);
    if (!c) throw new HttpError(410, 'project_deleted', 'the project of this crowd link no longer exists', {});
    return c;
  }

  /** Is the record inside the link's slice (as the slice is defined now)? */
  async function inSlice(browse: BrowseContext, sliceId: string, recordId: string): Promise<boolean> {
    if (!browse.slices.has(sliceId)) throw new HttpError(410, 'crowd_slice_deleted', 'the slice of this crowd link was deleted', { sliceId });
    const compiled = prepareFilter(browse, { slice: sliceId }, { dialect: ctx.db.dialect }, [recordId]);
    const r = await ctx.db.query(`select 1 from rm_records r where r.project_id = $1 and r.id = $2 and ${compiled.where} limit 1`, compiled.params);
    return r.rows.length > 0;
  }

  async function tasksOf(projectId: string, taskId: string | null) {
    // the project stream folded and cached per process (one revision lookup while unchanged)
    const { project, config } = await labeling.project(projectId);
    assertProjectActive(project, projectId);
    const tasks = [...config.tasks.values()].filter((t) => taskId === null || t.id === taskId);
    return { config, tasks };
  }

  const progress = (holder: CrowdHolder, quota: number) => ({ done: crowdRecordsDone(holder), quota });
  const answeredTasks = (holder: CrowdHolder, recordId: string) => [...(holder.answered.get(recordId) ?? [])];

  return [
    defineRoute({
      method: 'post',
      path: '/api/projects/:id/crowd-links',
      summary: 'Create a crowd link for one slice',
      description:
        'The plain link token is in this answer only (the log keeps its SHA-256). Holders label the records of the slice (as it is defined when they ask), one task or every task of the project, at most `quota` records each, until `expiresInHours` pass or the link is revoked.',
      tags: ['crowd'],
      permission: 'project:members',
      params: z.object({ id: z.uuid() }),
      body: z.object({
        name: z.string().trim().min(1).max(100),
        sliceId: z.string().min(1).max(64),
        taskId: z.string().min(1).max(64).nullable().optional(),
        quota: z.number().int().min(1).max(LIMITS.maxQuota),
        expiresInHours: z.number().min(1 / 60).max(LIMITS.maxExpiresInHours),
      }),
      responses: {
        201: { description: 'created; `token` is shown once', schema: linkView.pick({ id: true, name: true, quota: true, expiresAt: true, prefix: true }).extend({ token: z.string(), link: z.string(), position: z.string() }) },
        404: { description: '`slice_not_found`, `task_not_found`' },
      },
      async handler({ params, body, actor }) {
        const events = await ctx.store.readStream(projectStreamId(params.id));
        assertProjectActive(fold(projectDecider, events as never), params.id);
        if (!events.reduce(evolveSlices, emptySlices()).slices.has(body.sliceId)) {
          throw new HttpError(404, 'slice_not_found', `no saved slice ${body.sliceId} in this project`, { sliceId: body.sliceId });
        }
        const taskId = body.taskId ?? null;
        if (taskId !== null) requireTask((await loadProject(ctx.store, params.id)).config, params.id, taskId);
        const token = CROWD_LINK_PREFIX + secret();
        const linkId = linkIdOf(token);
        const expiresAt = new Date(Date.now() + body.expiresInHours * 3_600_000).toISOString();
        const prefix = token.slice(0, 9);
        const r = await ctx.store.append(
          crowdLinkStreamId(linkId),
          [{ type: 'CrowdLinkCreated', data: { linkId, projectId: params.id, sliceId: body.sliceId, taskId, name: body.name, quota: body.quota, expiresAt, tokenHash: linkTokenHash(token), prefix } }],
          { actor, expectedRevision: 'no_stream' },
        );
        return { status: 201, body: { id: linkId, name: body.name, quota: body.quota, expiresAt, prefix, token, link: `/crowd/${token}`, position: r.position } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/crowd-links',
      summary: 'List the crowd links of a project, with how many people joined and labeled',
      tags: ['crowd'],
      permission: 'project:members',
      params: z.object({ id: z.uuid() }),
      query: z.object({ after: afterQuery }),
      responses: { 200: { description: 'newest first; never the tokens', schema: z.object({ links: z.array(linkView) }) } },
      async handler({ params, query }) {
        await readAfter(ctx, query.after, ['crowd_links']);
        return { body: { links: await listCrowdLinks(ctx.db, params.id) } };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/projects/:id/crowd-links/:linkId',
      summary: 'Revoke a crowd link',
      description: 'Its holders are refused (410 `crowd_link_revoked`) from the next request on; their labels stay.',
      tags: ['crowd'],
      permission: 'project:members',
      params: z.object({ id: z.uuid(), linkId: z.uuid() }),
      responses: { 200: { description: 'revoked (or already)', schema: z.object({ position: z.string() }) }, 404: { description: '`crowd_link_not_found`' } },
      async handler({ params, actor }) {
        const r = await links.command(params.linkId, actor, (state) => {
          if (!state.link || state.link.projectId !== params.id) throw new HttpError(404, 'crowd_link_not_found', `no crowd link ${params.linkId} in this project`, { linkId: params.linkId });
          return state.link.revoked ? [] : [{ type: 'CrowdLinkRevoked', data: { linkId: params.linkId, projectId: params.id } }];
        });
        return { body: { position: r.position } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/crowd/:token/join',
      summary: 'Open a crowd link: a pseudonym and a crowd credential',
      description:
        'Answers 201 with a new pseudonymous holder and its credential (`Authorization: Bearer rfyc_…` on the other crowd routes; valid for this link only). Sending a credential of this link instead re-joins as the same holder (200). Revoked or expired → 410, unknown → 401.',
      tags: ['crowd'],
      permission: 'public',
      params: tokenParam,
      responses: {
        200: { description: 'the same holder again' },
        201: {
          description: 'joined',
          schema: z.object({ pseudonym: z.string(), credential: z.string().optional(), name: z.string(), expiresAt: z.string(), tasks: z.array(taskView), progress: progressView }),
        },
        401: { description: '`crowd_link_invalid`' },
        410: { description: '`crowd_link_revoked`, `crowd_link_expired`' },
      },
      async handler({ params, req }) {
        const { linkId, link, state } = await usableLink(params.token);
        const { tasks } = await tasksOf(link.projectId, link.taskId);
        const taskViews = tasks.map((t) => ({ id: t.id, name: t.name, kind: t.kind, attribute: t.attribute, labels: [...t.labels.values()].map((l) => ({ id: l.id, name: l.name, color: l.color, hotkey: l.hotkey })) }));
        const sent = bearer(req);
        const again = sent && isCrowdCredential(sent) ? state.holdersByToken.get(credentialHash(sent)) : undefined;
        if (again) {
          const holder = state.holders.get(again)!;
          return { body: { pseudonym: holder.pseudonym, name: link.name, expiresAt: link.expiresAt, tasks: taskViews, progress: progress(holder, link.quota) } };
        }
        const credential = CROWD_CREDENTIAL_PREFIX + secret();
        const holderId = randomUUID();
        let pseudonym = '';
        const r = await links.command(linkId, 'crowd', (current) => {
          const taken = new Set([...current.holders.values()].map((h) => h.pseudonym));
          do pseudonym = `crowd-${randomBytes(3).toString('hex')}`;
          while (taken.has(pseudonym));
          return [{ type: 'CrowdHolderJoined', data: { linkId, projectId: link.projectId, holderId, pseudonym, tokenHash: credentialHash(credential) } }];
        });
        const holder = r.state.holders.get(holderId)!;
        return { status: 201, body: { pseudonym, credential, name: link.name, expiresAt: link.expiresAt, tasks: taskViews, progress: progress(holder, link.quota) } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/crowd/:token/next',
      summary: "The holder's next record of the slice",
      description: "The first record of the slice (import order) the holder has not labeled. `record: null` with `reason` `quota_reached` or `slice_done` when there is nothing more to do.",
      tags: ['crowd'],
      permission: 'public',
      params: tokenParam,
      responses: {
        200: {
          description: 'a record, or null and why',
          schema: z.object({ record: z.object({ id: z.string(), values: z.record(z.string(), z.unknown()) }).nullable(), reason: z.enum(['quota_reached', 'slice_done']).nullable(), progress: progressView }),
        },
        401: { description: '`crowd_unauthenticated`, `crowd_link_invalid`' },
        410: { description: '`crowd_link_revoked`, `crowd_link_expired`, `crowd_slice_deleted`' },
      },
      async handler({ params, req }) {
        const { link, holder } = await holderOf(req, params.token);
        const p = progress(holder, link.quota);
        if (p.done >= link.quota) return { body: { record: null, reason: 'quota_reached', progress: p } };
        const browse = await scope(link.projectId);
        if (!browse.slices.has(link.sliceId)) throw new HttpError(410, 'crowd_slice_deleted', 'the slice of this crowd link was deleted', { sliceId: link.sliceId });
        // the holder's answered records are at most `quota`: skip them in SQL, take the first one left
        const compiled = prepareFilter(browse, { slice: link.sliceId }, { dialect: ctx.db.dialect }, [JSON.stringify([...holder.answered.keys()])]);
        const r = await ctx.db.query<{ id: string; values: Record<string, unknown> }>(
          `select r.id, r."values" from rm_records r
           where r.project_id = $1 and not (r.id in (select jsonb_array_elements_text($2::jsonb))) and ${compiled.where}
           order by r.seq limit 1`,
          compiled.params,
        );
        const row = r.rows[0];
        return { body: { record: row ? { id: row.id, values: row.values } : null, reason: row ? null : 'slice_done', progress: p } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/crowd/:token/records/:recordId',
      summary: 'A record of the slice, with what this holder answered on it',
      tags: ['crowd'],
      permission: 'public',
      params: tokenParam.extend({ recordId: z.string().min(1).max(512) }),
      responses: {
        200: { description: 'the record', schema: z.object({ record: z.object({ id: z.string(), values: z.record(z.string(), z.unknown()) }), answeredTasks: z.array(z.string()), progress: progressView }) },
        403: { description: '`record_outside_link`: not in the slice (or no such record)' },
      },
      async handler({ params, req }) {
        const { link, holder } = await holderOf(req, params.token);
        const browse = await scope(link.projectId);
        const record = (await inSlice(browse, link.sliceId, params.recordId)) ? await getRecord(ctx.db, link.projectId, params.recordId) : undefined;
        if (!record) throw new HttpError(403, 'record_outside_link', 'this record is not in the slice of the crowd link', { recordId: params.recordId });
        return { body: { record: { id: record.id, values: record.values }, answeredTasks: answeredTasks(holder, record.id), progress: progress(holder, link.quota) } };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/api/crowd/:token/records/:recordId/labels/:taskId',
      summary: "The holder's answer for one task on a record of the slice",
      description: 'Kept as source `crowd` with the pseudonym as annotator. A new record beyond the quota is refused with 409 `crowd_quota_reached`; changing an answer already given is free. An empty answer withdraws it.',
      tags: ['crowd'],
      permission: 'public',
      params: tokenParam.extend({ recordId: z.string().min(1).max(512), taskId: z.string().min(1).max(64) }),
      body: z.object({
        labelIds: z.array(z.string().min(1).max(64)).max(1000).optional(),
        spans: z.array(z.object({ labelId: z.string().min(1).max(64), start: z.number().int(), end: z.number().int() })).max(10_000).optional(),
      }),
      responses: {
        200: { description: 'saved', schema: z.object({ answer: answerView, progress: progressView, position: z.string() }) },
        403: { description: '`record_outside_link`' },
        409: { description: '`crowd_quota_reached`' },
        422: { description: '`task_outside_link`, unknown labels, a span task answered with labels …' },
      },
      async handler({ params, body, req }) {
        const { linkId, link, holder } = await holderOf(req, params.token);
        if (link.taskId !== null && params.taskId !== link.taskId) {
          throw new HttpError(403, 'task_outside_link', `this crowd link labels task ${link.taskId} only`, { taskId: params.taskId, allowed: [link.taskId] });
        }
        const { config } = await tasksOf(link.projectId, link.taskId);
        const task = requireTask(config, link.projectId, params.taskId);
        const browse = await scope(link.projectId);
        const record = (await inSlice(browse, link.sliceId, params.recordId)) ? await getRecord(ctx.db, link.projectId, params.recordId) : undefined;
        if (!record) throw new HttpError(403, 'record_outside_link', 'this record is not in the slice of the crowd link', { recordId: params.recordId });
        const value = task.attribute ? record.values[task.attribute] : undefined;
        const answer = normalizeAnswer(task, body.labelIds, body.spans, typeof value === 'string' ? value : null);
        const r = await links.command(linkId, `crowd:${holder.pseudonym}`, (state) => decideCrowdLabel(state, holder.holderId, { recordId: record.id, taskId: task.id, ...answer }, new Date()) as Event[]);
        const after = r.state.holders.get(holder.holderId)!;
        return {
          body: {
            answer: { taskId: task.id, labelIds: answer.labelIds, spans: answer.spans.map((s) => ({ labelId: s.labelId, start: s.start, end: s.end })) },
            progress: progress(after, link.quota),
            position: r.position,
          },
        };
      },
    }),
  ];
}

/** The link id (and so the stream) a token belongs to; for tests. */
export const crowdLinkIdOf = linkIdOf;
