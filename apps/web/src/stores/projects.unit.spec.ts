import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as api from '../api/client';
import { ApiError } from '../api/errors';
import type { Project } from '../api/types';
import { useConsistencyStore } from './consistency';
import { useProjectsStore, validateProjectName } from './projects';

vi.mock('../api/client');

function project(id: string, name: string, recordCount = 0): Project {
  return { id, name, createdAt: '2025-01-02T03:04:05.000Z', recordCount, attributes: [] };
}

describe('projects store', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    vi.resetAllMocks();
  });

  it('loads the project list', async () => {
    vi.mocked(api.listProjects).mockResolvedValue([project('p1', 'Reviews', 3)]);
    const store = useProjectsStore();

    await store.fetchAll();

    expect(api.listProjects).toHaveBeenCalledWith({ after: null });
    expect(store.projects.map((p) => p.name)).toEqual(['Reviews']);
    expect(store.loaded).toBe(true);
    expect(store.loading).toBe(false);
    expect(store.error).toBeNull();
  });

  it('keeps a load error as ApiError', async () => {
    vi.mocked(api.listProjects).mockRejectedValue(new ApiError({ code: 'internal', message: 'Boom', status: 500 }));
    const store = useProjectsStore();

    await store.fetchAll();

    expect(store.error).toMatchObject({ code: 'internal', status: 500 });
    expect(store.loading).toBe(false);
  });

  it('creates a project, then reads the list after the write position (read-your-writes)', async () => {
    vi.mocked(api.createProject).mockResolvedValue({ id: 'p2', revision: '1', position: '42' });
    vi.mocked(api.listProjects).mockResolvedValue([project('p2', 'Tickets')]);
    const store = useProjectsStore();

    const id = await store.create('  Tickets ');

    expect(id).toBe('p2');
    expect(api.createProject).toHaveBeenCalledWith('Tickets');
    expect(api.listProjects).toHaveBeenCalledWith({ after: '42' });
    expect(useConsistencyStore().after).toBe('42');
    expect(store.projects).toHaveLength(1);
  });

  it('rethrows server errors on create for the form to show', async () => {
    const conflict = new ApiError({ code: 'name_taken', message: 'Name taken', status: 409, details: { name: 'A' } });
    vi.mocked(api.createProject).mockRejectedValue(conflict);
    const store = useProjectsStore();

    await expect(store.create('A')).rejects.toBe(conflict);
    expect(api.listProjects).not.toHaveBeenCalled();
  });

  it('renames and removes projects', async () => {
    vi.mocked(api.listProjects).mockResolvedValueOnce([project('p1', 'Old'), project('p2', 'Other')]);
    const store = useProjectsStore();
    await store.fetchAll();

    vi.mocked(api.renameProject).mockResolvedValue({ revision: '2', position: '50' });
    vi.mocked(api.listProjects).mockResolvedValueOnce([project('p1', 'New'), project('p2', 'Other')]);
    await store.rename('p1', ' New ');
    expect(api.renameProject).toHaveBeenCalledWith('p1', 'New');
    expect(api.listProjects).toHaveBeenLastCalledWith({ after: '50' });
    expect(store.projects[0]!.name).toBe('New');

    vi.mocked(api.deleteProject).mockResolvedValue({ revision: '3', position: '51' });
    vi.mocked(api.listProjects).mockResolvedValueOnce([project('p2', 'Other')]);
    await store.remove('p1');
    expect(api.deleteProject).toHaveBeenCalledWith('p1');
    expect(api.listProjects).toHaveBeenLastCalledWith({ after: '51' });
    expect(store.projects.map((p) => p.id)).toEqual(['p2']);
  });

  it('loads one project and reports 404s', async () => {
    vi.mocked(api.getProject).mockResolvedValueOnce(project('p1', 'Reviews'));
    const store = useProjectsStore();
    await store.fetchOne('p1');
    expect(store.current?.name).toBe('Reviews');

    vi.mocked(api.getProject).mockRejectedValueOnce(new ApiError({ code: 'not_found', message: 'Nope', status: 404 }));
    await store.fetchOne('missing');
    expect(store.current).toBeNull();
    expect(store.currentError?.status).toBe(404);
  });

  it('ignores a stale list response that arrives after a newer one', async () => {
    let resolveFirst!: (projects: Project[]) => void;
    vi.mocked(api.listProjects)
      .mockImplementationOnce(() => new Promise((resolve) => (resolveFirst = resolve)))
      .mockResolvedValueOnce([project('new', 'Newer')]);
    const store = useProjectsStore();

    const first = store.fetchAll();
    await store.fetchAll();
    resolveFirst([project('old', 'Older')]);
    await first;

    expect(store.projects.map((p) => p.id)).toEqual(['new']);
  });
});

describe('validateProjectName', () => {
  it('requires 1 to 100 characters after trimming', () => {
    expect(validateProjectName('')).toMatch(/enter/i);
    expect(validateProjectName('   ')).toMatch(/enter/i);
    expect(validateProjectName('a')).toBeNull();
    expect(validateProjectName('x'.repeat(100))).toBeNull();
    expect(validateProjectName('x'.repeat(101))).toMatch(/100/);
  });
});
