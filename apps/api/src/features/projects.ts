import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { membershipStreamId, projectRole, projectStreamId, type AppendOptions, type EventStore, type ProjectEvent } from '@refinery/events';
import { emptyLabelingConfig, evolveLabelingConfig, fold, projectDecider, type LabelingConfig, type ProjectCommand, type ProjectState } from '@refinery/domain';
import { getProject, listProjects } from '@refinery/read-models';
import type { ApiContext } from '../context.ts';
import { HttpError } from '../http/errors.ts';
import { defineRoute, type AnyRoute } from '../http/routes.ts';
import { afterQuery, readAfter } from './consistency.ts';

const PROJECT_VIEWS = ['projects', 'records'];

export const commandResult = z.object({
  revision: z.string().describe('revision of the stream the command wrote to'),
  position: z.string().describe('global log position; pass it as ?after= to read your write'),
});

const attribute = z.object({ name: z.string(), type: z.enum(['text', 'category', 'integer', 'float', 'boolean']) });
export const projectView = z.object({
  id: z.uuid(),
  name: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  recordCount: z.number().int(),
  attributes: z.array(attribute),
  role: projectRole.nullable().describe("the caller's role in the project"),
});

const projectParams = z.object({ id: z.uuid() });
const projectName = z.string().trim().min(1, 'a project name needs at least 1 character').max(100, 'a project name has at most 100 characters');
const expectedRevision = z
  .string()
  .regex(/^\d+$/)
  .optional()
  .describe('the project revision the client saw; a stale one is refused with 409');

/** The project stream holds the project itself and its labeling configuration. */
export async function loadProject(
  store: EventStore,
  projectId: string,
): Promise<{ state: ProjectState; config: LabelingConfig; revision: bigint | undefined }> {
  const events = (await store.readStream(projectStreamId(projectId))) as unknown as ProjectEvent[];
  const revision = events.length ? BigInt(events.length - 1) : undefined;
  return { state: fold(projectDecider, events), config: events.reduce(evolveLabelingConfig, emptyLabelingConfig()), revision };
}

async function handle(ctx: ApiContext, command: ProjectCommand, actor: string, expected?: string) {
  const streamId = projectStreamId(command.projectId);
  const { state, revision } = await loadProject(ctx.store, command.projectId);
  const events = projectDecider.decide(command, state);
  if (events.length === 0) {
    const head = await ctx.store.head();
    return { revision: (revision ?? -1n).toString(), position: head };
  }
  const options: AppendOptions = { actor, expectedRevision: expected !== undefined ? BigInt(expected) : (revision ?? 'no_stream') };
  if (command.type === 'CreateProject') {
    // Whoever creates a project owns it: the project and its first membership land together.
    const result = await ctx.store.transaction(async (log) => {
      const created = await log.append(streamId, events, options);
      await log.append(membershipStreamId(command.projectId), [{ type: 'MemberAdded', data: { projectId: command.projectId, userId: actor, role: 'owner' } }], {
        actor,
        expectedRevision: 'no_stream',
      });
      return created;
    });
    return { revision: result.revision.toString(), position: result.position };
  }
  const result = await ctx.store.append(streamId, events, options);
  return { revision: result.revision.toString(), position: result.position };
}

export function projectRoutes(ctx: ApiContext): AnyRoute[] {
  return [
    defineRoute({
      method: 'post',
      path: '/api/projects',
      summary: 'Create a project',
      description: 'Any signed-in user may create a project and becomes its owner.',
      tags: ['projects'],
      permission: 'authenticated',
      body: z.object({ name: projectName }),
      responses: { 201: { description: 'created', schema: commandResult.extend({ id: z.uuid() }) } },
      async handler({ body, actor }) {
        const projectId = randomUUID();
        const r = await handle(ctx, { type: 'CreateProject', projectId, name: body.name }, actor);
        return { status: 201, body: { id: projectId, ...r } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects',
      summary: 'List the projects I am a member of',
      tags: ['projects'],
      permission: 'authenticated',
      query: z.object({ after: afterQuery }),
      responses: { 200: { description: 'the projects, oldest first', schema: z.object({ projects: z.array(projectView) }) } },
      async handler({ query, actor }) {
        await readAfter(ctx, query.after, [...PROJECT_VIEWS, 'memberships']);
        const roles = await ctx.identity.projectsOf(actor);
        const projects = (await listProjects(ctx.db)).flatMap((p) => {
          const role = roles.get(p.id);
          return role ? [{ ...p, role }] : [];
        });
        return { body: { projects } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:id',
      summary: 'Get one project',
      tags: ['projects'],
      permission: 'project:read',
      params: projectParams,
      query: z.object({ after: afterQuery }),
      responses: { 200: { description: 'the project', schema: projectView } },
      async handler({ params, query, role }) {
        await readAfter(ctx, query.after, PROJECT_VIEWS);
        const project = await getProject(ctx.db, params.id);
        if (!project) throw new HttpError(404, 'project_not_found', `project ${params.id} does not exist`, { projectId: params.id });
        return { body: { ...project, role: role ?? null } };
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/api/projects/:id',
      summary: 'Rename a project',
      tags: ['projects'],
      permission: 'project:manage',
      params: projectParams,
      body: z.object({ name: projectName, expectedRevision }),
      responses: { 200: { description: 'renamed', schema: commandResult } },
      async handler({ params, body, actor }) {
        return { body: await handle(ctx, { type: 'RenameProject', projectId: params.id, name: body.name }, actor, body.expectedRevision) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/projects/:id',
      summary: 'Delete a project',
      description: 'Removes the project from every read model. Its events stay in the log for audit.',
      tags: ['projects'],
      permission: 'project:manage',
      params: projectParams,
      query: z.object({ expectedRevision }),
      responses: { 200: { description: 'deleted', schema: commandResult } },
      async handler({ params, query, actor }) {
        return { body: await handle(ctx, { type: 'DeleteProject', projectId: params.id }, actor, query.expectedRevision) };
      },
    }),
  ];
}
