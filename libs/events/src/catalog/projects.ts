import { z } from 'zod';
import { defineEvent, type EventOf } from '../catalog.ts';

export const projectStreamId = (projectId: string) => `project:${projectId}`;

const projectName = z.string().trim().min(1).max(100);

export const ProjectCreated = defineEvent({
  type: 'ProjectCreated',
  schema: z.object({ projectId: z.uuid(), name: projectName }),
});
export const ProjectRenamed = defineEvent({
  type: 'ProjectRenamed',
  schema: z.object({ projectId: z.uuid(), name: projectName }),
});
export const ProjectDeleted = defineEvent({
  type: 'ProjectDeleted',
  schema: z.object({ projectId: z.uuid() }),
});

export type ProjectCreated = EventOf<typeof ProjectCreated>;
export type ProjectRenamed = EventOf<typeof ProjectRenamed>;
export type ProjectDeleted = EventOf<typeof ProjectDeleted>;
export type ProjectEvent = ProjectCreated | ProjectRenamed | ProjectDeleted;
export const projectEvents = [ProjectCreated, ProjectRenamed, ProjectDeleted] as const;
