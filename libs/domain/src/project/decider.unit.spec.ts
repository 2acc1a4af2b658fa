import { describe, expect, it } from 'vitest';
import type { ProjectEvent } from '@refinery/events';
import { DomainError } from '../errors.ts';
import { specFor } from '../testing.ts';
import { projectDecider } from './decider.ts';

const spec = specFor(projectDecider);
const projectId = '0b7f3a0e-7f2d-4a55-9c55-4a8ad0b1f5a1';
const created: ProjectEvent = { type: 'ProjectCreated', data: { projectId, name: 'Spam' } };
const isError = (code: string) => (e: unknown) => e instanceof DomainError && e.code === code;

describe('project decider', () => {
  it('creates a project with a trimmed name', () =>
    spec([]).when({ type: 'CreateProject', projectId, name: '  Spam ' }).then([created]));

  it('refuses to create a project twice', () =>
    spec([created]).when({ type: 'CreateProject', projectId, name: 'Other' }).thenThrows(isError('project_exists')));

  it('renames, and renaming to the same name records nothing', () => {
    spec([created]).when({ type: 'RenameProject', projectId, name: 'Ham' }).then([{ type: 'ProjectRenamed', data: { projectId, name: 'Ham' } }]);
    spec([created]).when({ type: 'RenameProject', projectId, name: 'Spam' }).then([]);
  });

  it('refuses to rename or delete an unknown project', () => {
    spec([]).when({ type: 'RenameProject', projectId, name: 'x' }).thenThrows(isError('project_not_found'));
    spec([]).when({ type: 'DeleteProject', projectId }).thenThrows(isError('project_not_found'));
  });

  it('deletes once; a deleted project is gone', () => {
    spec([created]).when({ type: 'DeleteProject', projectId }).then([{ type: 'ProjectDeleted', data: { projectId } }]);
    const deleted: ProjectEvent = { type: 'ProjectDeleted', data: { projectId } };
    spec([created, deleted]).when({ type: 'DeleteProject', projectId }).thenThrows(isError('project_deleted'));
    spec([created, deleted]).when({ type: 'RenameProject', projectId, name: 'x' }).thenThrows(isError('project_deleted'));
  });

  it('the spec helper itself fails on a wrong expectation', () => {
    expect(() => spec([]).when({ type: 'CreateProject', projectId, name: 'a' }).then([])).toThrow(/expected events/);
  });
});
