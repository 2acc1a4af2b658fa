// @vitest-environment happy-dom
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as api from '../../api/client';
import type { Attribute, RecordsPage } from '../../api/types';
import RecordsTable from './RecordsTable.vue';

vi.mock('../../api/client');

const attributes: Attribute[] = [
  { name: 'text', type: 'text' },
  { name: 'label', type: 'category' },
  { name: 'stars', type: 'integer' },
  { name: 'ok', type: 'boolean' },
];

function page(from: number, count: number, nextCursor: string | null, total = 30): RecordsPage {
  return {
    records: Array.from({ length: count }, (_, i) => ({
      id: `r${from + i}`,
      seq: from + i,
      values: { text: `row ${from + i}`, label: 'spam', stars: from + i, ok: (from + i) % 2 === 0 ? true : null },
    })),
    total,
    nextCursor,
  };
}

function mountTable() {
  const pinia = createPinia();
  setActivePinia(pinia);
  return mount(RecordsTable, { props: { projectId: 'p1', attributes }, global: { plugins: [pinia] } });
}

const bodyRows = (wrapper: ReturnType<typeof mountTable>) => wrapper.findAll('[data-testid="records-table"] tbody tr');
const summary = (wrapper: ReturnType<typeof mountTable>) => wrapper.get('[data-testid="records-summary"]').text().replace(/\s+/g, ' ');

describe('RecordsTable', () => {
  beforeEach(() => {
    vi.resetAllMocks();
  });

  it("renders the project's attributes as columns and the first page", async () => {
    vi.mocked(api.listRecords).mockResolvedValueOnce(page(1, 25, 'c2'));
    const wrapper = mountTable();
    await flushPromises();

    const headers = wrapper.findAll('thead th').map((th) => th.text());
    expect(headers[0]).toBe('#');
    expect(headers.slice(1).map((h) => h.split(' ')[0])).toEqual(['text', 'label', 'stars', 'ok']);
    expect(bodyRows(wrapper)).toHaveLength(25);
    expect(bodyRows(wrapper)[0]!.text()).toContain('row 1');
    expect(bodyRows(wrapper)[0]!.findAll('td')[4]!.text()).toBe('—'); // null boolean
    expect(bodyRows(wrapper)[1]!.findAll('td')[4]!.text()).toBe('true');
    expect(summary(wrapper)).toBe('Showing 1–25 of 30 records');
    expect(wrapper.get('[data-testid="page-previous"]').attributes('disabled')).toBeDefined();
  });

  it('pages with Next and Previous using the cursor stack', async () => {
    vi.mocked(api.listRecords)
      .mockResolvedValueOnce(page(1, 25, 'c2'))
      .mockResolvedValueOnce(page(26, 5, null))
      .mockResolvedValueOnce(page(1, 25, 'c2'));
    const wrapper = mountTable();
    await flushPromises();

    await wrapper.get('[data-testid="page-next"]').trigger('click');
    await flushPromises();
    expect(api.listRecords).toHaveBeenLastCalledWith('p1', { limit: 25, cursor: 'c2', after: null });
    expect(bodyRows(wrapper)).toHaveLength(5);
    expect(bodyRows(wrapper)[0]!.text()).toContain('row 26');
    expect(summary(wrapper)).toBe('Showing 26–30 of 30 records');
    expect(wrapper.get('[data-testid="page-next"]').attributes('disabled')).toBeDefined();

    await wrapper.get('[data-testid="page-previous"]').trigger('click');
    await flushPromises();
    expect(api.listRecords).toHaveBeenLastCalledWith('p1', { limit: 25, cursor: null, after: null });
    expect(bodyRows(wrapper)[0]!.text()).toContain('row 1');
    expect(summary(wrapper)).toBe('Showing 1–25 of 30 records');
  });

  it('reloads from the first page when the page size changes', async () => {
    vi.mocked(api.listRecords).mockResolvedValueOnce(page(1, 25, 'c2')).mockResolvedValueOnce(page(1, 30, null));
    const wrapper = mountTable();
    await flushPromises();

    await wrapper.get('[data-testid="page-size"]').setValue('50');
    await flushPromises();

    expect(api.listRecords).toHaveBeenLastCalledWith('p1', { limit: 50, cursor: null, after: null });
    expect(bodyRows(wrapper)).toHaveLength(30);
    expect(summary(wrapper)).toBe('Showing 1–30 of 30 records');
  });

  it('shows an empty state when the project has no records', async () => {
    vi.mocked(api.listRecords).mockResolvedValueOnce({ records: [], total: 0, nextCursor: null });
    const wrapper = mountTable();
    await flushPromises();

    expect(wrapper.text()).toContain('No records yet');
    expect(summary(wrapper)).toBe('0 records');
  });
});
