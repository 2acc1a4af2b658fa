import { z } from 'zod';
import { emailAddress, projectRole } from '@refinery/events';
import { mayChangeMembership, type MembershipCommand, type Role } from '@refinery/domain';
import { listMembers } from '@refinery/read-models';
import type { ApiContext } from '../context.ts';
import { HttpError } from '../http/errors.ts';
import { defineRoute, type AnyRoute } from '../http/routes.ts';
import { afterQuery, readAfter } from './consistency.ts';

const memberView = z.object({
  userId: z.uuid(),
  email: z.string().nullable(),
  displayName: z.string().nullable(),
  role: projectRole,
  addedAt: z.string(),
});
const commandResult = z.object({ revision: z.string(), position: z.string() });
const projectParams = z.object({ id: z.uuid() });
const memberParams = projectParams.extend({ userId: z.uuid() });

/**
 * Runs a membership command after the checks only the API can make: the project is active,
 * and only owners hand out, change or take away the owner role.
 */
async function change(ctx: ApiContext, command: MembershipCommand, actor: string, actorRole: Role | undefined) {
  await ctx.identity.requireActiveProject(command.projectId);
  const state = await ctx.identity.membersState(command.projectId);
  const current = state.members.get(command.userId);
  const next = command.type === 'RemoveMember' ? undefined : command.role;
  if (!mayChangeMembership(actorRole, current, next)) {
    throw new HttpError(403, 'forbidden', 'only owners grant, change or take away the owner role', { permission: 'project:members', role: actorRole ?? null });
  }
  return ctx.identity.changeMembership(command, actor);
}

export function memberRoutes(ctx: ApiContext): AnyRoute[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/members',
      summary: 'List the members of a project with their roles',
      tags: ['members'],
      permission: 'project:read',
      params: projectParams,
      query: z.object({ after: afterQuery }),
      responses: { 200: { description: 'oldest member first', schema: z.object({ members: z.array(memberView) }) } },
      async handler({ params, query }) {
        await readAfter(ctx, query.after, ['memberships', 'identity']);
        return { body: { members: await listMembers(ctx.db, params.id) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/projects/:id/members',
      summary: 'Add an existing user to the project',
      description: 'Name the user by `userId` or `email`. People without an account are invited instead (POST /api/invitations).',
      tags: ['members'],
      permission: 'project:members',
      params: projectParams,
      body: z
        .object({ userId: z.uuid().optional(), email: emailAddress.optional(), role: projectRole })
        .refine((b) => (b.userId === undefined) !== (b.email === undefined), { message: 'give either userId or email' }),
      responses: {
        201: { description: 'added', schema: commandResult.extend({ userId: z.uuid(), role: projectRole }) },
        404: { description: 'no such user (`user_not_found`)' },
        409: { description: 'already a member (`member_exists`)' },
      },
      async handler({ params, body, actor, role }) {
        const user = body.userId ? await ctx.identity.getUser(body.userId) : await ctx.identity.findUserByEmail(body.email!);
        if (!user) {
          throw new HttpError(404, 'user_not_found', `no account ${body.userId ?? body.email}: invite them with POST /api/invitations`, {
            ...(body.userId ? { userId: body.userId } : { email: body.email }),
          });
        }
        const r = await change(ctx, { type: 'AddMember', projectId: params.id, userId: user.id, role: body.role }, actor, role);
        return { status: 201, body: { userId: user.id, role: body.role, ...r } };
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/api/projects/:id/members/:userId',
      summary: "Change a member's role",
      description: 'The last owner cannot be demoted (409 `last_owner`).',
      tags: ['members'],
      permission: 'project:members',
      params: memberParams,
      body: z.object({ role: projectRole }),
      responses: { 200: { description: 'changed (or already that role)', schema: commandResult }, 404: { description: 'not a member' }, 409: { description: '`last_owner`' } },
      async handler({ params, body, actor, role }) {
        return { body: await change(ctx, { type: 'ChangeMemberRole', projectId: params.id, userId: params.userId, role: body.role }, actor, role) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/projects/:id/members/:userId',
      summary: 'Remove a member from the project',
      description: 'The last owner cannot be removed (409 `last_owner`).',
      tags: ['members'],
      permission: 'project:members',
      params: memberParams,
      responses: { 200: { description: 'removed', schema: commandResult }, 404: { description: 'not a member' }, 409: { description: '`last_owner`' } },
      async handler({ params, actor, role }) {
        return { body: await change(ctx, { type: 'RemoveMember', projectId: params.id, userId: params.userId }, actor, role) };
      },
    }),
  ];
}
