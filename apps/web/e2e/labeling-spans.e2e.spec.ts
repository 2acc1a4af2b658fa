import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiAs, authenticate, startAuthenticatedProduct } from './labeling-support';
import { launchBrowser, screenshot, watchPage, type LaunchedBrowser, type RunningProduct } from './support';

const TEXT = 'Alice Smith met Bob in Paris yesterday.';

interface Created {
  id: string;
  position: string;
}

interface LabelsBody {
  answers: { taskId: string; source: string; spans: { labelId: string; start: number; end: number }[] }[];
}

describe('span labeling with mouse and keyboard', () => {
  let product: RunningProduct | undefined;
  let browser: LaunchedBrowser | undefined;
  let page: Page;
  let problems: () => string[] = () => [];
  let projectId = '';
  let taskId = '';
  let per = '';
  let loc = '';
  let recordId = '';

  beforeAll(async () => {
    product = await startAuthenticatedProduct();
    browser = await launchBrowser();
    await authenticate(browser.context);
    page = await browser.context.newPage();
    page.setDefaultTimeout(20_000);
    problems = watchPage(page);

    // Set-up through the API: a project with one text record and a span task (the UI for this is tested elsewhere).
    projectId = (await apiAs<Created>(product, '/api/projects', { method: 'POST', body: { name: 'People and places' } })).id;
    const imported = await fetch(`${product.url}/api/projects/${projectId}/imports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${(await import('./labeling-support')).OWNER_TOKEN}`, 'content-type': 'application/x-ndjson' },
      body: `${JSON.stringify({ text: TEXT, source: 'news' })}\n${JSON.stringify({ text: 'Nothing to see here.', source: 'blog' })}\n`,
    });
    expect(imported.status).toBe(201);
    taskId = (await apiAs<Created>(product, `/api/projects/${projectId}/tasks`, { method: 'POST', body: { name: 'Entities', kind: 'span', attribute: 'text' } })).id;
    per = (await apiAs<Created>(product, `/api/projects/${projectId}/tasks/${taskId}/labels`, { method: 'POST', body: { name: 'PER', hotkey: 'e', color: '#dc2626' } })).id;
    const last = await apiAs<Created>(product, `/api/projects/${projectId}/tasks/${taskId}/labels`, { method: 'POST', body: { name: 'LOC', hotkey: 'l', color: '#059669' } });
    loc = last.id;
    const records = await apiAs<{ records: { id: string }[] }>(product, `/api/projects/${projectId}/records?after=${encodeURIComponent(last.position)}`);
    recordId = records.records[0]!.id;
  });

  afterAll(async () => {
    const seen = problems();
    if (seen.length) console.warn(`Browser reported:\n${seen.join('\n')}`);
    await browser?.close();
    await product?.stop();
  });

  const token = (i: number) => page.locator(`[data-testid="span-text"] [data-token="${i}"]`);
  const tags = () => page.getByTestId('span-tag');

  async function storedSpans(): Promise<{ labelId: string; start: number; end: number }[]> {
    const body = await apiAs<LabelsBody>(product!, `/api/projects/${projectId}/records/${recordId}/labels`);
    const mine = body.answers.find((a) => a.taskId === taskId && a.source === 'manual');
    return (mine?.spans ?? []).map(({ labelId, start, end }) => ({ labelId, start, end })).sort((a, b) => a.start - b.start);
  }

  it('shows the text as tokens', async () => {
    await page.goto(`${product!.url}/projects/${projectId}/label`);
    await token(0).waitFor();
    await page.locator('[data-testid="labeling-grid"][data-ready="true"]').waitFor();
    expect(await token(0).textContent()).toBe('Alice');
    expect(await page.getByTestId('span-text').textContent()).toBe(TEXT);
  });

  it('labels a token range selected by dragging the mouse', async () => {
    const from = (await token(0).boundingBox())!;
    const to = (await token(1).boundingBox())!;
    await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
    await page.mouse.down();
    await page.mouse.move(to.x + to.width / 2, to.y + to.height / 2, { steps: 5 });
    await page.mouse.up();
    expect(await token(0).getAttribute('class')).toContain('is-selected');
    expect(await token(1).getAttribute('class')).toContain('is-selected');
    await page.keyboard.press('e');
    await tags().filter({ hasText: 'PER' }).waitFor();
    await expect.poll(storedSpans).toEqual([{ labelId: per, start: 0, end: 'Alice Smith'.length }]);
  });

  it('labels a range selected with the arrow keys and shift+arrow', async () => {
    // The cursor is on "Smith" (the end of the drag): → four times reaches "Paris", shift+→ adds "yesterday".
    for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowRight');
    expect(await token(5).getAttribute('class')).toContain('is-selected');
    await page.keyboard.press('Shift+ArrowRight');
    expect(await token(6).getAttribute('class')).toContain('is-selected');
    await screenshot(page, 'spans-01-keyboard-selection');
    await page.keyboard.press('l');
    await tags().filter({ hasText: 'LOC' }).waitFor();
    const start = TEXT.indexOf('Paris');
    const end = TEXT.indexOf('yesterday') + 'yesterday'.length;
    await expect.poll(storedSpans).toEqual([
      { labelId: per, start: 0, end: 11 },
      { labelId: loc, start, end },
    ]);
    await screenshot(page, 'spans-02-two-spans');
  });

  it('shows the server refusing an overlapping span', async () => {
    await token(4).click();
    await page.keyboard.press('Shift+ArrowRight'); // "in Paris" overlaps the LOC span
    await page.keyboard.press('e');
    const banner = page.getByTestId('task-panel').getByTestId('error-banner');
    await banner.waitFor();
    expect(await banner.textContent()).toMatch(/overlap/i);
    await screenshot(page, 'spans-03-overlap-refused');
    expect(await tags().count()).toBe(2);
  });

  it('removes a span with its × control', async () => {
    await page.locator('[data-testid="span-tag"][data-start="0"] [data-testid="span-remove"]').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="span-tag"]').length === 1);
    const start = TEXT.indexOf('Paris');
    await expect.poll(storedSpans).toEqual([{ labelId: loc, start, end: TEXT.indexOf('yesterday') + 9 }]);
    await screenshot(page, 'spans-04-removed');
    expect(problems().filter((p) => p.startsWith('pageerror'))).toEqual([]);
  });
});
