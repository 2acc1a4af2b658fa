import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, makeTempDir, screenshot, startProduct, watchPage, type LaunchedBrowser, type RunningProduct } from './support';

const SENTIMENTS = ['positive', 'negative', 'neutral'] as const;

/** 30 rows with text, category, integer, float and boolean columns (one quoted field with a comma). */
function reviewsCsv(): { csv: string; rows: string[][] } {
  const rows: string[][] = [];
  for (let i = 1; i <= 30; i++) {
    const headline = i === 2 ? 'Fast delivery, friendly support' : `Review number ${i} about product ${String.fromCharCode(64 + ((i % 26) || 26))}`;
    rows.push([headline, SENTIMENTS[i % 3]!, String((i % 5) + 1), (i / 8).toFixed(3), i % 2 === 0 ? 'true' : 'false']);
  }
  const quote = (field: string) => (field.includes(',') ? `"${field}"` : field);
  const csv = ['headline,sentiment,stars,score,verified', ...rows.map((r) => r.map(quote).join(','))].join('\n') + '\n';
  return { csv, rows };
}

const MALFORMED_CSV = 'headline,sentiment,stars,score,verified\nGood one,positive,5,0.9,true\nBroken row,negative,2\n';

describe('importing files in the browser', () => {
  let product: RunningProduct | undefined;
  let browser: LaunchedBrowser | undefined;
  let page: Page;
  let problems: () => string[] = () => [];
  let files: { dir: string; remove: () => Promise<void> } | undefined;
  const { csv, rows } = reviewsCsv();

  beforeAll(async () => {
    files = await makeTempDir('e2e-files');
    await writeFile(path.join(files.dir, 'reviews.csv'), csv);
    await writeFile(path.join(files.dir, 'broken.csv'), MALFORMED_CSV);
    product = await startProduct();
    browser = await launchBrowser();
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

  const table = () => page.getByTestId('records-table');
  const bodyRows = () => table().locator('tbody tr');
  const summary = () => page.getByTestId('records-summary');

  async function waitForSummary(pattern: RegExp): Promise<void> {
    await page.waitForFunction(
      ([source, flags]) => new RegExp(source, flags).test(document.querySelector('[data-testid="records-summary"]')?.textContent ?? ''),
      [pattern.source, pattern.flags] as const,
    );
  }

  it('creates a project from the projects page', async () => {
    await page.goto(product!.url);
    await page.getByRole('heading', { name: 'Projects', level: 1 }).waitFor();
    expect(await page.locator('.layout-sidebar__brand').textContent()).toContain('refinery');

    await page.getByLabel('Project name').fill('Product reviews');
    await page.getByRole('button', { name: 'Create project' }).click();

    await page.waitForURL(/\/projects\/[^/]+$/);
    await page.getByRole('heading', { name: 'Product reviews', level: 1 }).waitFor();
    await page.getByText('No records yet').waitFor();
    await screenshot(page, 'import-01-empty-project');
  });

  it('imports a CSV file with progress and shows the records', async () => {
    await page.getByTestId('import-file').setInputFiles(path.join(files!.dir, 'reviews.csv'));
    await page.getByTestId('import-submit').click();

    const success = page.getByTestId('import-success');
    await success.waitFor();
    expect((await success.textContent())?.trim()).toBe('Imported 30 records');
    const progress = page.getByTestId('import-progress').getByRole('progressbar');
    expect(await progress.getAttribute('aria-valuenow')).toBe('100');

    await table().waitFor();
    expect((await page.getByTestId('records-total').textContent())?.trim()).toBe('30');
    await waitForSummary(/1–25\s+of\s+30/);

    const headers = await table().locator('thead th').allTextContents();
    for (const column of ['headline', 'sentiment', 'stars', 'score', 'verified']) {
      expect(headers.some((h) => h.includes(column))).toBe(true);
    }
    expect(await bodyRows().count()).toBe(25);
    const first = await bodyRows().nth(0).textContent();
    expect(first).toContain(rows[0]![0]);
    expect(first).toContain(rows[0]![1]);
    expect(await bodyRows().nth(1).textContent()).toContain('Fast delivery, friendly support');
    expect(await page.getByTestId('project-record-count').textContent()).toContain('30 records');
    await screenshot(page, 'import-02-imported');
  });

  it('pages forward and back with the server cursor', async () => {
    await page.getByTestId('page-next').click();
    await waitForSummary(/26–30\s+of\s+30/);
    expect(await bodyRows().count()).toBe(5);
    expect(await bodyRows().nth(0).textContent()).toContain(rows[25]![0]);
    expect(await page.getByTestId('page-next').isDisabled()).toBe(true);
    await screenshot(page, 'import-03-page-2');

    await page.getByTestId('page-previous').click();
    await waitForSummary(/1–25\s+of\s+30/);
    expect(await bodyRows().count()).toBe(25);
    expect(await bodyRows().nth(0).textContent()).toContain(rows[0]![0]);
    expect(await page.getByTestId('page-previous').isDisabled()).toBe(true);

    await page.getByTestId('page-size').selectOption('50');
    await waitForSummary(/1–30\s+of\s+30/);
    expect(await bodyRows().count()).toBe(30);
    await summary().waitFor();
  });

  it('shows the server error with the line number for a malformed CSV', async () => {
    await page.getByTestId('import-file').setInputFiles(path.join(files!.dir, 'broken.csv'));
    await page.getByTestId('import-submit').click();

    const error = page.getByTestId('import-error');
    await error.waitFor();
    const text = (await error.textContent()) ?? '';
    expect(text).toMatch(/Import failed/);
    expect(text).toMatch(/line\s*:?\s*3(?!\d)/i);
    expect(await page.getByTestId('import-success').count()).toBe(0);
    await screenshot(page, 'import-04-malformed-csv');
  });

  it('lists the project with its record count', async () => {
    await page.getByRole('link', { name: 'Projects' }).first().click();
    const row = page.getByTestId('projects-table').locator('tbody tr', { hasText: 'Product reviews' });
    await row.waitFor();
    expect(await row.locator('td').nth(1).textContent()).toContain('30');
    await screenshot(page, 'import-05-projects');
  });
});
