// @vitest-environment happy-dom
import { flushPromises, mount } from '@vue/test-utils';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as api from '../../api/client';
import HistoryTimeline from './HistoryTimeline.vue';
import type { HistoryEntry, HistoryPage } from './history-api';

vi.mock('../../api/client');

function entry(n: number, before: unknown, after: unknown, type = 'RecordLabeled'): HistoryEntry {
  return {
    eventId: `e${n}`,
    position: `100/${n}`,
    type,
    streamId: 'record:p1:r1',
    actor: 'u1',
    actorName: 'Bob',
    at: `2026-11-2${n}T10:00:00.000Z`,
    recordId: 'r1',
    taskId: 't1',
    aspect: 'answer:r1:t1:u1',
    before,
    after,
    summary: `summary ${n}`,
  };
}

describe('HistoryTimeline', () => {
  beforeEach(() => vi.mocked(api.request).mockReset());

  it('shows who changed what from what to what, with label names, and pages to older changes', async () => {
    const first: HistoryPage = { items: [entry(3, { labelIds: ['pos'], spans: [] }, { labelIds: ['neg'], spans: [] })], nextCursor: '100/3' };
    const older: HistoryPage = { items: [entry(1, null, { labelIds: ['pos'], spans: [] }), entry(0, null, { body: 'hi' }, 'RecordCommented')], nextCursor: null };
    vi.mocked(api.request).mockResolvedValueOnce(first).mockResolvedValueOnce(older);
    const wrapper = mount(HistoryTimeline, { props: { projectId: 'p1', recordId: 'r1', labelNames: { pos: 'positive', neg: 'negative' }, after: '100/3' } });
    await flushPromises();
    expect(api.request).toHaveBeenCalledWith('GET', '/api/projects/p1/records/r1/history', { query: { cursor: null, after: '100/3', limit: 20 } });
    const change = wrapper.get('[data-testid="history-change"]').text();
    expect(change).toContain('positive');
    expect(change).toContain('→');
    expect(change).toContain('negative');
    expect(wrapper.text()).toContain('Bob');

    await wrapper.get('[data-testid="history-more"]').trigger('click');
    await flushPromises();
    expect(api.request).toHaveBeenLastCalledWith('GET', '/api/projects/p1/records/r1/history', { query: { cursor: '100/3', after: null, limit: 20 } });
    const entries = wrapper.findAll('[data-testid="history-entry"]');
    expect(entries).toHaveLength(3);
    expect(entries[1]!.text()).not.toContain('→'); // the first answer has no "before"
    expect(entries[2]!.text()).toContain('summary 0'); // a comment shows its summary
    expect(wrapper.find('[data-testid="history-more"]').exists()).toBe(false);
  });

  it('reloads for another record and shows an error it can dismiss', async () => {
    vi.mocked(api.request).mockResolvedValueOnce({ items: [], nextCursor: null });
    const wrapper = mount(HistoryTimeline, { props: { projectId: 'p1', recordId: 'r1' } });
    await flushPromises();
    expect(wrapper.text()).toContain('No changes to this record yet.');
    vi.mocked(api.request).mockRejectedValueOnce(new Error('boom'));
    await wrapper.setProps({ recordId: 'r2' });
    await flushPromises();
    expect(api.request).toHaveBeenLastCalledWith('GET', '/api/projects/p1/records/r2/history', expect.anything());
    expect(wrapper.text()).toContain('History not loaded');
  });
});
