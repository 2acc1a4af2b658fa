import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiAs, authenticate, startAuthenticatedProduct } from './labeling-support';
import { launchBrowser, makeTempDir, screenshot, watchPage, type LaunchedBrowser, type RunningProduct } from './support';

const CSV = ['text,channel', 'I love this phone,web', 'Terrible battery life,app', 'Works as expected,web', 'Screen broke after a week,app', 'Great value,web'].join('\n') + '\n';

interface LabelsBody {
  answers: { taskId: string; source: string; annotator: string; labelIds: string[] }[];
}

describe('classification labeling with hotkeys', () => {
  let product: RunningProduct | undefined;
  let browser: LaunchedBrowser | undefined;
  let page: Page;
  let problems: () => string[] = () => [];
  let files: { dir: string; remove: () => Promise<void> } | undefined;
  let projectId = '';

  beforeAll(async () => {
    files = await makeTempDir('e2e-label');
    await writeFile(path.join(files.dir, 'reviews.csv'), CSV);
    product = await startAuthenticatedProduct();
    browser = await launchBrowser();
    await authenticate(browser.context);
    page = await browser.context.newPage();
    page.setDefaultTimeout(20_000);
    problems = watchPage(page);
  });

  afterAll(async () => {
    const seen = problems();
    if (seen.length) console.warn(`Browser reported:\n${seen.join('\n')}`);
    await browser?.close();
    await product?.stop();
    await files?.remove();
  });

  const api = <T>(pathname: string) => apiAs<T>(product!, pathname);

  async function waitForPosition(n: number, total: number): Promise<void> {
    await page.waitForFunction(
      ([want]) => (document.querySelector('[data-testid="record-position"]')?.textContent ?? '').replace(/\s+/g, ' ').includes(want!),
      [`Record ${n} of ${total}`] as const,
    );
  }

  const panel = () => page.getByTestId('task-panel').filter({ hasText: 'Sentiment' });
  const labelButton = (name: string) => panel().locator(`button[data-label="${name}"]`);

  async function waitReady(): Promise<void> {
    await page.locator('[data-testid="labeling-grid"][data-ready="true"]').waitFor();
  }

  async function waitPressed(name: string, pressed: boolean): Promise<void> {
    await page.waitForFunction(
      ([label, want]) =>
        document.querySelector(`[data-testid="task-panel"] button[data-label="${label}"]`)?.getAttribute('aria-pressed') === want,
      [name, String(pressed)] as const,
    );
  }

  it('creates a project and imports a CSV', async () => {
    await page.goto(product!.url);
    await page.getByLabel('Project name').fill('Phone reviews');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.waitForURL(/\/projects\/[^/]+$/);
    projectId = new URL(page.url()).pathname.split('/')[2]!;
    await page.getByTestId('import-file').setInputFiles(path.join(files!.dir, 'reviews.csv'));
    await page.getByTestId('import-submit').click();
    await page.getByTestId('import-success').waitFor();
    expect(await page.getByTestId('nav-label').isVisible()).toBe(true);
    expect(await page.getByTestId('nav-browse').isVisible()).toBe(true);
    expect(await page.getByTestId('nav-settings').isVisible()).toBe(true);
  });

  it('creates a single-label task with labels and hotkeys in settings', async () => {
    await page.getByTestId('nav-settings').click();
    await page.waitForURL(/\/settings$/);
    const form = page.getByTestId('task-create-form');
    await form.getByLabel('Task name').fill('Sentiment');
    await form.getByRole('button', { name: 'Add task' }).click();
    const card = page.getByTestId('task-card').filter({ hasText: 'Sentiment' });
    await card.waitFor();

    for (const [name, key] of [
      ['positive', 'p'],
      ['negative', 'n'],
    ] as const) {
      await card.getByLabel('New label name').fill(name);
      await card.getByLabel('New label hotkey').fill(key);
      await card.getByRole('button', { name: 'Add label' }).click();
      await card.locator(`tr[data-label="${name}"]`).waitFor();
    }
    expect(await card.locator('tbody tr[data-label]').count()).toBe(2);
    await screenshot(page, 'labeling-01-settings');
  });

  it('labels three records with hotkeys, auto-advancing', async () => {
    await page.getByTestId('nav-label').click();
    await page.waitForURL(/\/label$/);
    await waitForPosition(1, 5);
    await waitReady();
    await labelButton('positive').waitFor();
    expect(await page.getByTestId('auto-advance').isChecked()).toBe(true);
    expect(await labelButton('positive').locator('kbd').textContent()).toBe('p');

    await page.keyboard.press('p');
    await waitForPosition(2, 5);
    await page.keyboard.press('n');
    await waitForPosition(3, 5);
    await page.keyboard.press('p');
    await waitForPosition(4, 5);
    await waitReady();
    await screenshot(page, 'labeling-02-after-three');
  });

  it('goes back with ←, changes the label, then undoes the change', async () => {
    await page.keyboard.press('ArrowLeft');
    await waitForPosition(3, 5);
    await waitReady();
    await waitPressed('positive', true);
    expect(await page.getByTestId('record-values').textContent()).toContain('Works as expected');

    // Auto-advance is for fast first passes; switch it off to correct a label in place.
    await page.getByTestId('auto-advance').uncheck();
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('n');
    await waitPressed('negative', true);
    await waitPressed('positive', false);
    await waitForPosition(3, 5);

    const records = await api<{ records: { id: string; values: Record<string, unknown> }[] }>(`/api/projects/${projectId}/records?limit=10`);
    const third = records.records[2]!;
    const tasks = await api<{ tasks: { id: string; labels: { id: string; name: string }[] }[] }>(`/api/projects/${projectId}/tasks`);
    const labelName = new Map(tasks.tasks[0]!.labels.map((l) => [l.id, l.name]));
    const mine = async (recordId: string) => {
      const body = await api<LabelsBody>(`/api/projects/${projectId}/records/${recordId}/labels`);
      const answer = body.answers.find((a) => a.source === 'manual');
      return (answer?.labelIds ?? []).map((id) => labelName.get(id));
    };
    await expect.poll(() => mine(third.id)).toEqual(['negative']);
    await screenshot(page, 'labeling-03-changed');

    await page.keyboard.press('u');
    await waitPressed('positive', true);
    await waitPressed('negative', false);
    await page.getByTestId('notice').filter({ hasText: 'Undone' }).waitFor();
    await screenshot(page, 'labeling-04-undone');

    // What the server stored for the first five records.
    await expect.poll(() => mine(third.id)).toEqual(['positive']);
    expect(await mine(records.records[0]!.id)).toEqual(['positive']);
    expect(await mine(records.records[1]!.id)).toEqual(['negative']);
    expect(await mine(records.records[3]!.id)).toEqual([]);
    expect(problems().filter((p) => p.startsWith('pageerror'))).toEqual([]);
  });
});
