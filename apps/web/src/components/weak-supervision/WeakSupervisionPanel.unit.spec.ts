// @vitest-environment happy-dom
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as api from '../../api/client';
import type { Heuristic, LabelingTask, WsConfig, WsConfusion } from '../../api/types';
import { useSessionStore } from '../../stores/session';
import WeakSupervisionPanel from './WeakSupervisionPanel.vue';

vi.mock('../../api/client');

const task: LabelingTask = {
  id: 't1',
  name: 'Spam',
  kind: 'single_label',
  attribute: null,
  allowOverlap: false,
  labels: [
    { id: 'ham', name: 'HAM', color: '#000000', hotkey: null, description: '' },
    { id: 'spam', name: 'SPAM', color: '#000000', hotkey: null, description: '' },
  ],
} as LabelingTask;
const heuristic = (id: string, taskId = 't1') => ({ id, taskId, name: `h ${id}`, latestRun: null }) as unknown as Heuristic;
const config: WsConfig = { taskId: 't1', heuristicIds: [], model: 'ours', autoRerun: false, minConfidence: 0, updatedAt: null, updatedBy: null };
const confusion: WsConfusion = { taskId: 't1', kind: 'single_label', labelIds: ['ham', 'spam'], compared: 0, withWeakLabel: 0, matrix: [[0, 0, 0], [0, 0, 0]], accuracy: null, perLabel: [] };

const signInAs = (role: 'owner' | 'engineer' | 'expert') => {
  useSessionStore().me = { user: { id: 'u1', email: 'u@x', displayName: 'U', admin: false, createdAt: '' }, method: 'session', csrfToken: null, memberships: [{ projectId: 'p1', role }] };
};

describe('WeakSupervisionPanel', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    signInAs('engineer');
    vi.mocked(api.getWeakSupervisionConfusion).mockResolvedValue(confusion);
  });
  afterEach(() => vi.resetAllMocks());

  it("offers the task's heuristics only, and a configuration arriving after a click does not undo it", async () => {
    let answer!: (v: { config: WsConfig; runs: [] }) => void;
    vi.mocked(api.getWeakSupervision).mockReturnValue(new Promise((resolve) => (answer = resolve)));
    const wrapper = mount(WeakSupervisionPanel, { props: { projectId: 'p1', tasks: [task], heuristics: [heuristic('h1'), heuristic('h2'), heuristic('hx', 't2')] } });
    const boxes = wrapper.findAll('[data-testid="ws-heuristic"]');
    expect(boxes).toHaveLength(2);
    expect(wrapper.get('[data-testid="ws-run"]').attributes('disabled')).toBeDefined();
    await boxes[0]!.setValue(true);
    answer({ config, runs: [] });
    await flushPromises();
    expect((boxes[0]!.element as HTMLInputElement).checked).toBe(true);
    expect(wrapper.get('[data-testid="ws-run"]').attributes('disabled')).toBeUndefined();
  });

  it('follows the saved configuration while untouched, and runs with the form', async () => {
    vi.mocked(api.getWeakSupervision).mockResolvedValue({ config: { ...config, heuristicIds: ['h2'], model: 'ds', minConfidence: 0.7 }, runs: [] });
    vi.mocked(api.configureWeakSupervision).mockResolvedValue({ revision: '0', position: '1/1' });
    vi.mocked(api.runWeakSupervision).mockResolvedValue({ revision: '1', position: '1/2', runId: 'w1' });
    const wrapper = mount(WeakSupervisionPanel, { props: { projectId: 'p1', tasks: [task], heuristics: [heuristic('h1'), heuristic('h2')] } });
    await flushPromises();
    const boxes = wrapper.findAll<HTMLInputElement>('[data-testid="ws-heuristic"]');
    expect(boxes.map((b) => b.element.checked)).toEqual([false, true]);
    expect((wrapper.get('[data-testid="ws-model"]').element as HTMLSelectElement).value).toBe('ds');
    await wrapper.get('[data-testid="ws-min-confidence"]').setValue('2');
    expect(wrapper.text()).toContain('A number from 0 to 1.');
    expect(wrapper.get('[data-testid="ws-run"]').attributes('disabled')).toBeDefined();
    await wrapper.get('[data-testid="ws-min-confidence"]').setValue('0.5');
    await wrapper.get('[data-testid="ws-run"]').trigger('click');
    await flushPromises();
    expect(api.configureWeakSupervision).toHaveBeenCalledWith('p1', 't1', { heuristicIds: ['h2'], model: 'ds', minConfidence: 0.5, autoRerun: false });
    expect(api.runWeakSupervision).toHaveBeenCalledWith('p1', 't1');
  });

  it('is read only for an expert: the runs show, the controls are disabled', async () => {
    signInAs('expert');
    vi.mocked(api.getWeakSupervision).mockResolvedValue({ config: { ...config, heuristicIds: ['h1'] }, runs: [] });
    const wrapper = mount(WeakSupervisionPanel, { props: { projectId: 'p1', tasks: [task], heuristics: [heuristic('h1')] } });
    await flushPromises();
    expect(wrapper.find('[data-testid="ws-read-only"]').exists()).toBe(true);
    expect(wrapper.get('[data-testid="ws-run"]').attributes('disabled')).toBeDefined();
    expect(wrapper.get('[data-testid="ws-save"]').attributes('disabled')).toBeDefined();
    expect(wrapper.get('[data-testid="ws-model"]').attributes('disabled')).toBeDefined();
    expect(wrapper.get('[data-testid="ws-task"]').attributes('disabled')).toBeUndefined();
  });
});
