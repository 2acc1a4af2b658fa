import { z } from 'zod';
import { emailAddress, projectRole } from '@refinery/events';
import { allowed, mayChangeMembership } from '@refinery/domain';
import { AuthenticationError, type Authentication } from '@refinery/identity';
import { getProject, type UserView } from '@refinery/read-models';
import type { ApiContext } from '../context.ts';
import { clearSessionCookies, clientAddress, csrfCookie, sessionCookies } from '../http/auth.ts';
import { HttpError } from '../http/errors.ts';
import { defineRoute, type AnyRoute } from '../http/routes.ts';

export const userView = z.object({ id: z.uuid(), email: z.string(), displayName: z.string(), admin: z.boolean(), createdAt: z.string() });
const signedIn = z.object({
  user: userView,
  csrfToken: z.string().describe('send it as X-CSRF-Token with every POST, PUT, PATCH and DELETE made with the session cookie'),
  expiresAt: z.string(),
});
const tokenView = z.object({
  id: z.uuid(),
  name: z.string(),
  prefix: z.string().describe('the first characters of the token, to recognise it'),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
const password = z.string().min(1).max(1024);
const invitationToken = z.string().min(10).max(200);

/** 401 / 429 for credential refusals; everything else goes to the shared error mapping. */
function credentialError(err: unknown): never {
  if (err instanceof AuthenticationError) {
    if (err.code === 'rate_limited') {
      throw new HttpError(429, 'rate_limited', err.message, { retryAfterSeconds: err.retryAfterSeconds });
    }
    throw new HttpError(401, 'invalid_credentials', err.message);
  }
  throw err;
}

function requireUser(user: Authentication | undefined): Authentication {
  if (!user) throw new HttpError(401, 'unauthenticated', 'sign in first');
  return user;
}

function toUserView(user: UserView | (Authentication & { createdAt?: string })): z.infer<typeof userView> {
  if ('id' in user) return { id: user.id, email: user.email, displayName: user.displayName, admin: user.admin, createdAt: user.createdAt };
  return { id: user.userId, email: user.email, displayName: user.displayName, admin: user.admin, createdAt: user.createdAt ?? '' };
}

export function authRoutes(ctx: ApiContext): AnyRoute[] {
  return [
    defineRoute({
      method: 'post',
      path: '/api/auth/sign-in',
      summary: 'Sign in with e-mail and password',
      description:
        'Opens a browser session: sets the HttpOnly `refinery_session` cookie and the readable `refinery_csrf` cookie. ' +
        'After 5 failed attempts for one e-mail address from one client address within a minute, further attempts get 429 with Retry-After.',
      tags: ['auth'],
      permission: 'public',
      body: z.object({ email: z.string().trim().min(1).max(254), password }),
      responses: {
        200: { description: 'signed in', schema: signedIn },
        401: { description: 'wrong e-mail address or password (`invalid_credentials`)' },
        429: { description: 'too many failed attempts (`rate_limited`); see Retry-After' },
      },
      async handler({ body, req, res }) {
        const result = await ctx.identity
          .signIn(body.email, body.password, { ip: clientAddress(req), userAgent: req.headers['user-agent'] })
          .catch((err: unknown) => {
            if (err instanceof AuthenticationError && err.code === 'rate_limited') res.setHeader('Retry-After', String(err.retryAfterSeconds));
            return credentialError(err);
          });
        res.setHeader('Set-Cookie', sessionCookies(req, result.session));
        res.setHeader('Cache-Control', 'no-store');
        return { body: { user: toUserView(result.user), csrfToken: result.session.csrfToken, expiresAt: result.session.expiresAt.toISOString() } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/auth/sign-out',
      summary: 'Sign out: end this browser session',
      tags: ['auth'],
      permission: 'authenticated',
      responses: { 200: { description: 'signed out', schema: z.object({ signedOut: z.literal(true) }) } },
      async handler({ user, req, res }) {
        if (user?.session) await ctx.identity.signOut(user.session.id);
        clearSessionCookies(req, res);
        return { body: { signedOut: true } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/auth/me',
      summary: 'Who am I: the signed-in user, the CSRF token of the session and the projects with roles',
      tags: ['auth'],
      permission: 'authenticated',
      responses: {
        200: {
          description: 'the caller',
          schema: z.object({
            user: userView,
            method: z.enum(['session', 'api-token', 'external']),
            csrfToken: z.string().nullable(),
            memberships: z.array(z.object({ projectId: z.uuid(), role: projectRole })),
          }),
        },
      },
      async handler({ user, req, res }) {
        const me = requireUser(user);
        // A Kratos browser session has no sign-in answer here: hand the web app its CSRF cookie now.
        if (me.method === 'external' && me.session) res.setHeader('Set-Cookie', csrfCookie(req, me.session.csrfToken, me.session.expiresAt));
        const record = await ctx.identity.getUser(me.userId);
        const memberships = [...(await ctx.identity.projectsOf(me.userId))].map(([projectId, role]) => ({ projectId, role }));
        return {
          headers: { 'Cache-Control': 'no-store' },
          body: {
            user: toUserView({ ...me, ...(record ? { createdAt: record.createdAt } : {}) }),
            method: me.method,
            csrfToken: me.session?.csrfToken ?? null,
            memberships,
          },
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/auth/password',
      summary: 'Change my password',
      description: 'Needs the current password. Every other browser session of the user ends; API tokens stay valid.',
      tags: ['auth'],
      permission: 'authenticated',
      body: z.object({ currentPassword: password, newPassword: password }),
      responses: { 200: { description: 'changed', schema: z.object({ position: z.string() }) } },
      async handler({ user, body }) {
        const me = requireUser(user);
        const r = await ctx.identity.changePassword(me.userId, body.currentPassword, body.newPassword, me.session?.id).catch(credentialError);
        return { body: r };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/auth/tokens',
      summary: 'Create a personal API token',
      description: 'The token is in this answer only; the server keeps its SHA-256 hash. Use it as `Authorization: Bearer rfy_…`.',
      tags: ['auth'],
      permission: 'authenticated',
      body: z.object({
        name: z.string().trim().min(1).max(100),
        expiresInDays: z.number().int().min(1).max(3650).optional().describe('no expiry when omitted'),
      }),
      responses: { 201: { description: 'created', schema: tokenView.extend({ token: z.string().describe('shown once') }) } },
      async handler({ user, body, res }) {
        const me = requireUser(user);
        const expiresAt = body.expiresInDays ? new Date(Date.now() + body.expiresInDays * 24 * 3600_000) : null;
        const { token, view } = await ctx.identity.createApiToken(me.userId, body.name, expiresAt);
        res.setHeader('Cache-Control', 'no-store');
        const { userId: _owner, ...rest } = view;
        return { status: 201, body: { ...rest, token } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/auth/tokens',
      summary: 'List my API tokens (never their values)',
      tags: ['auth'],
      permission: 'authenticated',
      responses: { 200: { description: 'newest first, revoked ones marked', schema: z.object({ tokens: z.array(tokenView) }) } },
      async handler({ user }) {
        const me = requireUser(user);
        const tokens = (await ctx.identity.listApiTokens(me.userId)).map(({ userId: _owner, ...rest }) => rest);
        return { body: { tokens } };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/auth/tokens/:tokenId',
      summary: 'Revoke one of my API tokens',
      description: 'Requests with the token are refused (401) as soon as this answers.',
      tags: ['auth'],
      permission: 'authenticated',
      params: z.object({ tokenId: z.uuid() }),
      responses: { 200: { description: 'revoked', schema: z.object({ position: z.string() }) }, 404: { description: 'no such token of yours' } },
      async handler({ user, params }) {
        const me = requireUser(user);
        return { body: await ctx.identity.revokeApiToken(me.userId, params.tokenId) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/invitations',
      summary: 'Invite someone by e-mail: returns an invitation link token',
      description:
        'With `projectId` and `role`: owners and engineers of that project (only owners may invite owners); the invitee joins the project on acceptance. ' +
        'Without a project: site administrators only. The link (`/sign-in?invitation=<token>`) is valid for 7 days and can be accepted once.',
      tags: ['auth'],
      permission: 'authenticated',
      body: z
        .object({ email: emailAddress, projectId: z.uuid().optional(), role: projectRole.optional() })
        .refine((b) => (b.projectId === undefined) === (b.role === undefined), { message: 'give both projectId and role, or neither' }),
      responses: {
        201: {
          description: 'invited',
          schema: z.object({ invitationId: z.uuid(), token: z.string(), link: z.string(), expiresAt: z.string(), position: z.string() }),
        },
        403: { description: 'not allowed to invite to this project (or to the site)' },
        409: { description: 'the e-mail address already has an account (`user_exists`): add them as a member' },
      },
      async handler({ user, body, res }) {
        const me = requireUser(user);
        if (body.projectId && body.role) {
          const role = await ctx.identity.roleIn(body.projectId, me.userId, (r) => allowed(r ?? 'signed-in', 'project:members'));
          if (!allowed(role ?? 'signed-in', 'project:members') || !mayChangeMembership(role, undefined, body.role)) {
            throw new HttpError(403, 'forbidden', body.role === 'owner' && role === 'engineer' ? 'only owners may invite owners' : 'only owners and engineers of the project may invite to it', {
              permission: 'project:members',
              role: role ?? null,
            });
          }
        } else if (!me.admin) {
          throw new HttpError(403, 'forbidden', 'only site administrators invite people without a project', { permission: 'admin', role: null });
        }
        const r = await ctx.identity.invite(me.userId, { email: body.email, projectId: body.projectId ?? null, role: body.role ?? null });
        res.setHeader('Cache-Control', 'no-store');
        return {
          status: 201,
          body: { invitationId: r.invitationId, token: r.token, link: `/sign-in?invitation=${encodeURIComponent(r.token)}`, expiresAt: r.expiresAt, position: r.position },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/invitations/:token',
      summary: 'What an invitation offers (for the page that accepts it)',
      tags: ['auth'],
      permission: 'public',
      params: z.object({ token: invitationToken }),
      responses: {
        200: {
          description: 'the invitation',
          schema: z.object({
            email: z.string(),
            projectId: z.uuid().nullable(),
            projectName: z.string().nullable(),
            role: projectRole.nullable(),
            expiresAt: z.string(),
            status: z.enum(['pending', 'accepted', 'expired']),
          }),
        },
        404: { description: 'not a valid invitation link' },
      },
      async handler({ params }) {
        const invitation = await ctx.identity.invitationByToken(params.token);
        if (!invitation) throw new HttpError(404, 'invitation_not_found', 'this invitation link is not valid');
        const status = invitation.acceptedAt ? 'accepted' : Date.parse(invitation.expiresAt) <= Date.now() ? 'expired' : 'pending';
        const project = invitation.projectId ? await getProject(ctx.db, invitation.projectId) : undefined;
        return {
          body: { email: invitation.email, projectId: invitation.projectId, projectName: project?.name ?? null, role: invitation.role, expiresAt: invitation.expiresAt, status },
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/invitations/:token/accept',
      summary: 'Accept an invitation: create the account (and join the project) and sign in',
      tags: ['auth'],
      permission: 'public',
      params: z.object({ token: invitationToken }),
      body: z.object({ name: z.string().trim().min(1).max(100), password }),
      responses: {
        201: { description: 'account created and signed in', schema: signedIn.extend({ projectId: z.uuid().nullable(), position: z.string() }) },
        404: { description: 'not a valid invitation link' },
        410: { description: 'already accepted (`invitation_used`) or expired (`invitation_expired`)' },
        422: { description: 'the password is too weak (`weak_password`)' },
      },
      async handler({ params, body, req, res }) {
        const r = await ctx.identity.acceptInvitation(params.token, body, { ip: clientAddress(req), userAgent: req.headers['user-agent'] });
        res.setHeader('Set-Cookie', sessionCookies(req, r.session));
        res.setHeader('Cache-Control', 'no-store');
        return {
          status: 201,
          body: { user: toUserView(r.user), csrfToken: r.session.csrfToken, expiresAt: r.session.expiresAt.toISOString(), projectId: r.projectId, position: r.position },
        };
      },
    }),
  ];
}
