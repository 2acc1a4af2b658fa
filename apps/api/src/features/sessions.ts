import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { sessionStreamId, type Filter } from '@refinery/events';
import { assertProjectActive, inlineSlices, type SliceDefinition } from '@refinery/domain';
import {
  activeClaims,
  claimRecord,
  countMatching,
  currentMaxSeq,
  getSession,
  listSessions,
  offerableRecords,
  releaseClaims,
  sessionMembers,
  sessionProgress,
  sessionRecords,
  type Claim,
  type SessionView,
} from '@refinery/read-models';
import type { Role } from '@refinery/domain';
import type { ApiContext } from '../context.ts';
import { HttpError } from '../http/errors.ts';
import { defineRoute, type AnyRoute } from '../http/routes.ts';
import { afterQuery, readAfter } from './consistency.ts';
import { loadProject } from './projects.ts';
import { browseContext, browserErrors, parseFilterOrThrow, queryOptions, BROWSER_VIEWS } from './browser.ts';

const projectParams = z.object({ id: z.uuid() });
const sessionParams = projectParams.extend({ sessionId: z.uuid() });
const SESSION_VIEWS = [...BROWSER_VIEWS, 'sessions'];

const distributionView = z.object({ overlap: z.number(), annotators: z.array(z.string()).nullable(), claimTimeoutSeconds: z.number() });
const distributionBody = z
  .object({
    overlap: z.number().int().min(1).max(100).default(1),
    annotators: z.array(z.string().min(1).max(200)).max(1000).nullable().default(null),
    claimTimeoutSeconds: z.number().int().min(1).max(86_400).default(120),
  })
  .strict();
const claimView = z.object({ recordId: z.string(), userId: z.string(), claimedAt: z.string(), expiresAt: z.string() });

/** A session is the owner's; a team session (with a distribution) is open to every member. */
export function sessionVisibleTo(s: SessionView, actor: string): boolean {
  return s.owner === actor || s.distribution !== null;
}

/**
 * May this caller work in the session (claim records, write to its live document), or only
 * watch? Annotators of a team session with an annotator list must be on it; every other role
 * that may label works anywhere it can see.
 */
export function mayWorkIn(s: SessionView, actor: string, role: Role | undefined): boolean {
  if (s.owner === actor) return true;
  if (!role || s.distribution === null) return false;
  if (role !== 'annotator') return true;
  return s.distribution.annotators === null || s.distribution.annotators.includes(actor);
}

const sessionView = z.object({
  id: z.string(),
  distribution: distributionView.nullable(),
  name: z.string(),
  owner: z.string(),
  sliceId: z.string().nullable(),
  filter: z.unknown().nullable(),
  order: z.enum(['ordered', 'shuffled']),
  seed: z.string(),
  total: z.number(),
  labeled: z.number().optional(),
  startedAt: z.string(),
});

const publicView = ({ maxSeq: _m, ...s }: SessionView) => s;

export function sessionRoutes(ctx: ApiContext): AnyRoute[] {
  /** A session is visible to its owner, a team session to every member. */
  const mine = async (projectId: string, sessionId: string, actor: string) => {
    const s = await getSession(ctx.db, projectId, sessionId);
    if (!s || !sessionVisibleTo(s, actor)) throw new HttpError(404, 'session_not_found', `session ${sessionId} does not exist`, { sessionId });
    return s;
  };
  /** A team session the caller may work in (404 otherwise, 403 for those who may only watch). */
  const workable = async (projectId: string, sessionId: string, actor: string, role: Role | undefined) => {
    const s = await mine(projectId, sessionId, actor);
    if (s.distribution === null) throw new HttpError(409, 'not_a_team_session', 'claims and the next-record offer need a team session (start it with a distribution)', { sessionId });
    if (!mayWorkIn(s, actor, role)) {
      throw new HttpError(403, 'session_read_only', 'you are not among the annotators of this session: you may watch it, not work in it', { sessionId, role: role ?? null });
    }
    return s as SessionView & { distribution: NonNullable<SessionView['distribution']> };
  };
  const claimBody = (c: Claim) => c;
  return [
    defineRoute({
      method: 'post',
      path: '/api/projects/:id/sessions',
      summary: 'Start a labeling session over a slice or a filter',
      description:
        'The session keeps the filter (slices inlined) and covers the records that existed when it started. ' +
        'shuffled orders by md5(seed || record id): stable for a seed. Conditions on labels are evaluated live (see docs/data-browser.md).',
      tags: ['sessions'],
      permission: 'project:label',
      params: projectParams,
      body: z
        .object({
          name: z.string().trim().min(1).max(200).optional(),
          sliceId: z.string().min(1).max(64).optional(),
          filter: z.unknown().optional(),
          order: z.enum(['ordered', 'shuffled']).default('ordered'),
          seed: z.string().min(1).max(200).optional(),
          /** makes it a team session: open to the members, records handed out by overlap and claims (docs/live.md) */
          distribution: distributionBody.optional(),
          after: afterQuery,
        })
        .strict(),
      responses: { 201: { description: 'started', schema: z.object({ id: z.uuid(), total: z.number(), revision: z.string(), position: z.string() }) } },
      async handler(rc) {
        const { params, body, actor } = rc;
        if (body.distribution && !(await rc.can('project:manage'))) {
          throw new HttpError(403, 'forbidden', 'starting a team session (with a distribution) needs the permission project:manage', { permission: 'project:manage', role: rc.role ?? null });
        }
        await readAfter(ctx, body.after, BROWSER_VIEWS);
        assertProjectActive((await loadProject(ctx.store, params.id)).state, params.id);
        const bc = await browseContext(ctx, params.id);
        const parts: Filter[] = [];
        if (body.sliceId !== undefined) parts.push({ slice: body.sliceId });
        if (body.filter !== undefined && body.filter !== null) parts.push(parseFilterOrThrow(body.filter));
        const raw: Filter | null = parts.length === 0 ? null : parts.length === 1 ? parts[0]! : { all: parts };
        const slices: ReadonlyMap<string, SliceDefinition> = bc.slices;
        const filter = raw ? await browserErrors(async () => inlineSlices(raw, slices)) : null;
        const maxSeq = await currentMaxSeq(ctx.db, params.id);
        const total = await browserErrors(async () => countMatching(ctx.db, bc, filter, maxSeq, await queryOptions(bc, rc)));
        const sessionId = randomUUID();
        const seed = body.seed ?? sessionId;
        const r = await ctx.store.append(
          sessionStreamId(params.id, sessionId),
          [
            {
              type: 'LabelingSessionStarted',
              data: {
                projectId: params.id,
                sessionId,
                name: body.name ?? `Session ${new Date().toISOString().slice(0, 16).replace('T', ' ')}`,
                owner: actor,
                sliceId: body.sliceId ?? null,
                filter,
                order: body.order,
                seed,
                maxSeq,
                total,
              },
            },
            ...(body.distribution
              ? [
                  {
                    type: 'LabelingSessionDistributionSet',
                    data: {
                      projectId: params.id,
                      sessionId,
                      overlap: body.distribution.overlap,
                      annotators: body.distribution.annotators,
                      claimTimeoutSeconds: body.distribution.claimTimeoutSeconds,
                    },
                  },
                ]
              : []),
          ],
          { actor, expectedRevision: 'no_stream' },
        );
        return { status: 201, body: { id: sessionId, total, revision: r.revision.toString(), position: r.position } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/sessions',
      summary: "The caller's labeling sessions and the project's team sessions, newest first",
      tags: ['sessions'],
      permission: 'project:label',
      params: projectParams,
      query: z.object({ after: afterQuery }),
      responses: { 200: { description: 'sessions', schema: z.object({ sessions: z.array(sessionView) }) } },
      async handler({ params, query, actor }) {
        await readAfter(ctx, query.after, ['sessions']);
        return { body: { sessions: (await listSessions(ctx.db, params.id, actor)).map(publicView) } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/sessions/:sessionId',
      summary: 'A session with its progress (records with a manual label by the caller)',
      tags: ['sessions'],
      permission: 'project:label',
      params: sessionParams,
      query: z.object({ after: afterQuery }),
      responses: { 200: { description: 'the session', schema: sessionView } },
      async handler(rc) {
        const { params, query, actor } = rc;
        await readAfter(ctx, query.after, SESSION_VIEWS);
        const s = await mine(params.id, params.sessionId, actor);
        const bc = await browseContext(ctx, params.id);
        const progress = await browserErrors(async () => sessionProgress(ctx.db, bc, { ...s, owner: actor }, await queryOptions(bc, rc)));
        return { body: { ...publicView(s), total: progress.total, labeled: progress.labeled } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/sessions/:sessionId/records',
      summary: 'Record ids of a session in session order, paged both ways',
      tags: ['sessions'],
      permission: 'project:label',
      params: sessionParams,
      query: z.object({
        cursor: z.string().max(500).optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(50),
        direction: z.enum(['next', 'prev']).default('next'),
        after: afterQuery,
      }),
      responses: {
        200: { description: 'a page', schema: z.object({ recordIds: z.array(z.string()), nextCursor: z.string().nullable(), prevCursor: z.string().nullable() }) },
      },
      async handler(rc) {
        const { params, query, actor } = rc;
        await readAfter(ctx, query.after, SESSION_VIEWS);
        const s = await mine(params.id, params.sessionId, actor);
        const bc = await browseContext(ctx, params.id);
        return {
          body: await browserErrors(async () =>
            sessionRecords(ctx.db, bc, s, { limit: query.limit, direction: query.direction, ...(query.cursor !== undefined ? { cursor: query.cursor } : {}) }, await queryOptions(bc, rc)),
          ),
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/projects/:id/sessions/:sessionId/next',
      summary: 'Claim the next record of a team session for the caller',
      description:
        'Releases the caller\'s other claims in the session, then claims the first record in session order that the caller has not labeled, ' +
        'that fewer than `overlap` annotators labeled and that nobody else holds. Pass `after` (the position of your last label) so your own label counts. ' +
        '`recordId` null: nothing left to offer right now.',
      tags: ['sessions'],
      permission: 'project:label',
      params: sessionParams,
      body: z.object({ after: afterQuery }).strict(),
      responses: {
        200: { description: 'the claimed record (or none)', schema: z.object({ recordId: z.string().nullable(), claim: claimView.nullable(), released: z.array(z.string()) }) },
      },
      async handler(rc) {
        const { params, body, actor, role } = rc;
        await readAfter(ctx, body.after, SESSION_VIEWS);
        const s = await workable(params.id, params.sessionId, actor, role);
        const released = await releaseClaims(ctx.db, s.id, actor);
        const bc = await browseContext(ctx, params.id);
        const options = await queryOptions(bc, rc);
        const timeoutMs = s.distribution.claimTimeoutSeconds * 1000;
        let claim: Claim | null = null;
        // Racing callers: whoever loses a record takes the next candidate; a page of losses reads again.
        for (let attempt = 0; attempt < 5 && !claim; attempt++) {
          const candidates = await browserErrors(async () => offerableRecords(ctx.db, bc, s, { userId: actor, overlap: s.distribution.overlap, now: new Date(), limit: 16 }, options));
          if (candidates.length === 0) break;
          for (const recordId of candidates) {
            const outcome = await claimRecord(ctx.db, { projectId: params.id, sessionId: s.id, recordId, userId: actor, now: new Date(), timeoutMs });
            if (outcome.ok) {
              claim = outcome.claim;
              break;
            }
          }
        }
        ctx.live?.claimsChanged(params.id, s.id);
        return { body: { recordId: claim?.recordId ?? null, claim: claim ? claimBody(claim) : null, released } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/projects/:id/sessions/:sessionId/claims',
      summary: 'Claim (or keep claiming) a record of a team session',
      description:
        'Call when a record is opened and again while the annotator is active: a claim lapses after the session\'s claimTimeoutSeconds without renewal. ' +
        '409 claimed when someone else holds it, 409 record_complete when overlap annotators labeled it already.',
      tags: ['sessions'],
      permission: 'project:label',
      params: sessionParams,
      body: z.object({ recordId: z.string().min(1).max(512), after: afterQuery }).strict(),
      responses: { 200: { description: 'the claim', schema: claimView } },
      async handler(rc) {
        const { params, body, actor, role } = rc;
        await readAfter(ctx, body.after, SESSION_VIEWS);
        const s = await workable(params.id, params.sessionId, actor, role);
        const bc = await browseContext(ctx, params.id);
        if ((await sessionMembers(ctx.db, bc, s, [body.recordId])).length === 0) {
          throw new HttpError(404, 'record_not_in_session', `record ${body.recordId} is not part of this session`, { recordId: body.recordId });
        }
        const now = new Date();
        const outcome = await claimRecord(ctx.db, { projectId: params.id, sessionId: s.id, recordId: body.recordId, userId: actor, now, timeoutMs: s.distribution.claimTimeoutSeconds * 1000 });
        if (!outcome.ok) {
          throw new HttpError(409, 'claimed', `record ${body.recordId} is claimed by someone else until ${outcome.holder.expiresAt}`, {
            recordId: body.recordId,
            holder: outcome.holder.userId,
            expiresAt: outcome.holder.expiresAt,
          });
        }
        await releaseClaims(ctx.db, s.id, actor, { keep: body.recordId });
        ctx.live?.claimsChanged(params.id, s.id);
        return { body: claimBody(outcome.claim) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/projects/:id/sessions/:sessionId/claims/:recordId',
      summary: "Release the caller's claim on a record",
      tags: ['sessions'],
      permission: 'project:label',
      params: sessionParams.extend({ recordId: z.string().min(1).max(512) }),
      responses: { 200: { description: 'released (or there was none)', schema: z.object({ released: z.array(z.string()) }) } },
      async handler(rc) {
        const { params, actor, role } = rc;
        const s = await workable(params.id, params.sessionId, actor, role);
        const released = await releaseClaims(ctx.db, s.id, actor, { recordId: params.recordId });
        if (released.length) ctx.live?.claimsChanged(params.id, s.id);
        return { body: { released } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/sessions/:sessionId/claims',
      summary: 'The unexpired claims of a session',
      tags: ['sessions'],
      permission: 'project:label',
      params: sessionParams,
      responses: { 200: { description: 'claims', schema: z.object({ claims: z.array(claimView) }) } },
      async handler({ params, actor }) {
        const s = await mine(params.id, params.sessionId, actor);
        return { body: { claims: (await activeClaims(ctx.db, s.id, new Date())).map(claimBody) } };
      },
    }),
  ];
}
