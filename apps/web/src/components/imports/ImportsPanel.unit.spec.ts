// @vitest-environment happy-dom
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as api from '../../api/client';
import { ApiError } from '../../api/errors';
import type { ImportResult, UploadProgress } from '../../api/types';
import { useConsistencyStore } from '../../stores/consistency';
import ImportsPanel from './ImportsPanel.vue';

vi.mock('../../api/client', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../api/client')>()),
  uploadImport: vi.fn(),
}));

function mountPanel() {
  const pinia = createPinia();
  setActivePinia(pinia);
  return mount(ImportsPanel, { props: { projectId: 'p1' }, global: { plugins: [pinia] } });
}

async function chooseFile(wrapper: ReturnType<typeof mountPanel>, file: File): Promise<void> {
  const input = wrapper.get('[data-testid="import-file"]');
  Object.defineProperty(input.element, 'files', { value: [file], configurable: true });
  await input.trigger('change');
}

describe('ImportsPanel', () => {
  beforeEach(() => {
    vi.mocked(api.uploadImport).mockReset();
  });

  it("shows the server's message and details (line number) when the import fails", async () => {
    vi.mocked(api.uploadImport).mockRejectedValue(
      new ApiError({
        code: 'malformed_csv',
        message: 'Line 3 has 3 columns, but the header has 5',
        status: 400,
        details: { line: 3, expected: 5, actual: 3 },
      }),
    );
    const wrapper = mountPanel();
    await chooseFile(wrapper, new File(['a,b\n1,2\n3\n'], 'broken.csv', { type: 'text/csv' }));
    await wrapper.get('form').trigger('submit');
    await flushPromises();

    const error = wrapper.get('[data-testid="import-error"]');
    expect(error.attributes('role')).toBe('alert');
    expect(error.text()).toContain('Import failed');
    expect(error.get('[data-testid="error-message"]').text()).toBe('Line 3 has 3 columns, but the header has 5');
    expect(error.get('[data-detail="line"]').text()).toBe('Line 3');
    expect(error.get('[data-detail="expected"]').text()).toBe('Expected 5');
    expect(error.text()).toContain('malformed_csv');
    expect(wrapper.find('[data-testid="import-success"]').exists()).toBe(false);
    expect(wrapper.emitted('imported')).toBeUndefined();
  });

  it('uploads with the primary key, shows progress and success, and records the write position', async () => {
    let resolveUpload!: (result: ImportResult) => void;
    let reportProgress!: (progress: UploadProgress) => void;
    vi.mocked(api.uploadImport).mockImplementation((_projectId, _file, options) => {
      reportProgress = options!.onProgress!;
      return new Promise((resolve) => (resolveUpload = resolve));
    });
    const wrapper = mountPanel();
    const file = new File(['text\nhello\n'], 'data.csv');
    await chooseFile(wrapper, file);
    await wrapper.get('[data-testid="import-primary-key"]').setValue('id');
    await wrapper.get('form').trigger('submit');

    expect(api.uploadImport).toHaveBeenCalledWith('p1', file, expect.objectContaining({ primaryKey: 'id' }));
    reportProgress({ loaded: 5, total: 10 });
    await flushPromises();
    expect(wrapper.get('[role="progressbar"]').attributes('aria-valuenow')).toBe('50');

    resolveUpload({ importId: 'i1', records: 30, position: '88' });
    await flushPromises();

    expect(wrapper.get('[data-testid="import-success"]').text()).toBe('Imported 30 records');
    expect(wrapper.get('[role="progressbar"]').attributes('aria-valuenow')).toBe('100');
    expect(wrapper.emitted('imported')).toEqual([[{ importId: 'i1', records: 30, position: '88' }]]);
    expect(useConsistencyStore().after).toBe('88');
  });

  it('rejects unsupported file types before uploading', async () => {
    const wrapper = mountPanel();
    await chooseFile(wrapper, new File(['x'], 'notes.txt'));

    expect(wrapper.get('[data-testid="import-error"]').text()).toContain('notes.txt');
    expect(wrapper.get('[data-testid="import-submit"]').attributes('disabled')).toBeDefined();
    expect(api.uploadImport).not.toHaveBeenCalled();
  });
});
