import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiAs, authenticate, OWNER_TOKEN, startAuthenticatedProduct } from './labeling-support';
import { launchBrowser, screenshot, watchPage, type LaunchedBrowser, type RunningProduct } from './support';

const ROWS = [
  { text: 'I love it', channel: 'web', label: 'positive' },
  { text: 'Awful', channel: 'app', label: 'negative' },
  { text: 'Great stuff', channel: 'web', label: 'positive' },
  { text: 'Nice app', channel: 'app', label: 'positive' },
  { text: 'Meh', channel: 'web', label: null },
  { text: 'Fine', channel: 'app', label: null },
];

interface Created {
  id: string;
  position: string;
}

describe('data browser: filter by label and attribute, save a slice, label the result', () => {
  let product: RunningProduct | undefined;
  let browser: LaunchedBrowser | undefined;
  let page: Page;
  let problems: () => string[] = () => [];
  let projectId = '';

  beforeAll(async () => {
    product = await startAuthenticatedProduct();
    browser = await launchBrowser();
    await authenticate(browser.context);
    page = await browser.context.newPage();
    page.setDefaultTimeout(20_000);
    problems = watchPage(page);

    projectId = (await apiAs<Created>(product, '/api/projects', { method: 'POST', body: { name: 'Feedback' } })).id;
    const imported = await fetch(`${product.url}/api/projects/${projectId}/imports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OWNER_TOKEN}`, 'content-type': 'application/x-ndjson' },
      body: ROWS.map(({ text, channel }) => JSON.stringify({ text, channel })).join('\n') + '\n',
    });
    expect(imported.status).toBe(201);
    const taskId = (await apiAs<Created>(product, `/api/projects/${projectId}/tasks`, { method: 'POST', body: { name: 'Sentiment', kind: 'single_label' } })).id;
    const labelIds: Record<string, string> = {};
    for (const name of ['positive', 'negative']) {
      labelIds[name] = (await apiAs<Created>(product, `/api/projects/${projectId}/tasks/${taskId}/labels`, { method: 'POST', body: { name } })).id;
    }
    const records = await apiAs<{ records: { id: string; values: { text: string } }[] }>(product, `/api/projects/${projectId}/records`);
    let position = '';
    for (const row of ROWS) {
      if (!row.label) continue;
      const record = records.records.find((r) => r.values.text === row.text)!;
      const put = await apiAs<Created>(product, `/api/projects/${projectId}/records/${record.id}/labels/${taskId}`, {
        method: 'PUT',
        body: { labelIds: [labelIds[row.label]] },
      });
      position = put.position;
    }
    // Wait until the data browser's read models include the labels written above.
    await apiAs(product, `/api/projects/${projectId}/records/search`, { method: 'POST', body: { limit: 1, after: position } });
  });

  afterAll(async () => {
    const seen = problems();
    if (seen.length) console.warn(`Browser reported:\n${seen.join('\n')}`);
    await browser?.close();
    await product?.stop();
  });

  async function waitForTotal(n: number): Promise<void> {
    await page.waitForFunction(
      (want) => document.querySelector('[data-testid="browser-total"]')?.textContent?.trim() === want && !document.querySelector('.browser-view__loading'),
      String(n),
    );
  }

  const rowTexts = () => page.getByTestId('browser-table').locator('tbody tr').allTextContents();

  it('lists every record with its labels', async () => {
    await page.goto(`${product!.url}/projects/${projectId}/browse`);
    await waitForTotal(6);
    const texts = await rowTexts();
    expect(texts).toHaveLength(6);
    expect(texts[0]).toContain('I love it');
    expect(texts[0]).toContain('positive');
  });

  it('filters by a manual label', async () => {
    await page.getByTestId('add-label-condition').click();
    const condition = page.getByTestId('filter-condition').nth(0);
    await condition.getByLabel('Label source').selectOption('manual');
    await condition.getByLabel('Label', { exact: true }).selectOption({ label: 'positive' });
    await page.getByTestId('filter-apply').click();
    await waitForTotal(3);
    const texts = await rowTexts();
    expect(texts.map((t) => ROWS.find((r) => t.includes(r.text))?.text)).toEqual(['I love it', 'Great stuff', 'Nice app']);
  });

  it('adds an attribute condition (all of them must match)', async () => {
    await page.getByTestId('add-attribute-condition').click();
    const condition = page.getByTestId('filter-condition').nth(1);
    await condition.getByLabel('Attribute').selectOption('channel');
    await condition.getByLabel('Operator').selectOption('eq');
    await condition.getByLabel('Value', { exact: true }).fill('web');
    await page.getByTestId('filter-apply').click();
    await waitForTotal(2);
    const texts = await rowTexts();
    expect(texts.some((t) => t.includes('I love it'))).toBe(true);
    expect(texts.some((t) => t.includes('Great stuff'))).toBe(true);
    await screenshot(page, 'browser-01-filtered');
  });

  it('saves the filter as a slice and applies it', async () => {
    const form = page.getByTestId('slice-save-form');
    await form.getByLabel('Slice name').fill('Positive on the web');
    await form.getByRole('button', { name: 'Save filter as slice' }).click();
    const slice = page.getByTestId('slices').locator('li[data-slice="Positive on the web"]');
    await slice.waitFor();
    const slices = await apiAs<{ slices: { name: string; kind: string }[] }>(product!, `/api/projects/${projectId}/slices`);
    expect(slices.slices.map((s) => [s.name, s.kind])).toEqual([['Positive on the web', 'dynamic']]);

    await slice.getByRole('button', { name: 'Positive on the web', exact: true }).click();
    await page.waitForFunction(() => document.querySelector('.browser-view__slice-tag')?.textContent?.includes('Positive on the web'));
    await waitForTotal(2);
    await screenshot(page, 'browser-02-slice');
  });

  it('starts a labeling session over the slice with "Label these"', async () => {
    await page.getByTestId('label-these').click();
    await page.waitForURL(/\/sessions\/[^/]+$/);
    await page.waitForFunction(() => /Record\s+1\s+of\s+2/.test(document.querySelector('[data-testid="record-position"]')?.textContent ?? ''));
    await page.locator('[data-testid="labeling-grid"][data-ready="true"]').waitFor();
    expect(await page.getByTestId('record-values').textContent()).toContain('I love it');
    await screenshot(page, 'browser-03-session');
    expect(problems().filter((p) => p.startsWith('pageerror'))).toEqual([]);
  });
});
