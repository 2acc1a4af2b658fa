import type { ProjectEvent } from '@refinery/events';
import { DomainError } from '../errors.ts';
import type { Decider } from '../decider.ts';

export type ProjectCommand =
  | { type: 'CreateProject'; projectId: string; name: string }
  | { type: 'RenameProject'; projectId: string; name: string }
  | { type: 'DeleteProject'; projectId: string };

export type ProjectState =
  | { status: 'none' }
  | { status: 'active'; projectId: string; name: string }
  | { status: 'deleted'; projectId: string; name: string };

function requireActive(state: ProjectState, projectId: string): Extract<ProjectState, { status: 'active' }> {
  if (state.status === 'none') throw new DomainError('not_found', 'project_not_found', `project ${projectId} does not exist`, { projectId });
  if (state.status === 'deleted') throw new DomainError('gone', 'project_deleted', `project ${projectId} was deleted`, { projectId });
  return state;
}

export const projectDecider: Decider<ProjectCommand, ProjectState, ProjectEvent> = {
  initialState: { status: 'none' },

  decide(command, state) {
    switch (command.type) {
      case 'CreateProject':
        if (state.status !== 'none') {
          throw new DomainError('conflict', 'project_exists', `project ${command.projectId} already exists`, { projectId: command.projectId });
        }
        return [{ type: 'ProjectCreated', data: { projectId: command.projectId, name: command.name.trim() } }];
      case 'RenameProject': {
        const current = requireActive(state, command.projectId);
        if (current.name === command.name.trim()) return [];
        return [{ type: 'ProjectRenamed', data: { projectId: command.projectId, name: command.name.trim() } }];
      }
      case 'DeleteProject':
        requireActive(state, command.projectId);
        return [{ type: 'ProjectDeleted', data: { projectId: command.projectId } }];
      default: {
        const unhandled: never = command;
        throw new Error(`unhandled command ${JSON.stringify(unhandled)}`);
      }
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'ProjectCreated':
        return { status: 'active', projectId: event.data.projectId, name: event.data.name };
      case 'ProjectRenamed':
        return state.status === 'active' ? { ...state, name: event.data.name } : state;
      case 'ProjectDeleted':
        return state.status === 'active' ? { ...state, status: 'deleted' } : state;
      default:
        // The project stream also carries other contexts' events (labeling configuration).
        return state;
    }
  },
};

/** Guard used by other contexts (imports, labels): the project must exist and not be deleted. */
export function assertProjectActive(state: ProjectState, projectId: string): void {
  requireActive(state, projectId);
}
