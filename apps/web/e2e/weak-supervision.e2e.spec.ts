/**
 * Weak supervision in the browser: choose heuristics and the label model on the heuristics page,
 * run it through the workers, see the run complete and the confusion matrix, then see the weak
 * label with its confidence in the labeling view.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { apiAs, authenticate, OWNER_TOKEN, startAuthenticatedProduct } from './labeling-support';
import { launchBrowser, screenshot, watchPage, type LaunchedBrowser, type RunningProduct } from './support';

describe('weak supervision in the browser', () => {
  let product: RunningProduct | undefined;
  let browser: LaunchedBrowser | undefined;
  let page: Page;
  let projectId: string;
  let taskId: string;
  let pageErrors: () => string[];
  const texts = ['Check out my channel!', 'great song', 'please subscribe', 'nice', 'check it out now', 'love this song'];

  beforeAll(async () => {
    product = await startAuthenticatedProduct();
    browser = await launchBrowser({ signInTo: product });
    await authenticate(browser.context);
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    pageErrors = watchPage(page);
    projectId = (await apiAs<{ id: string }>(product, '/api/projects', { method: 'POST', body: { name: 'Weak supervision' } })).id;
    const imported = await fetch(`${product.url}/api/projects/${projectId}/imports?primaryKey=id`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OWNER_TOKEN}`, 'content-type': 'application/x-ndjson' },
      body: texts.map((text, i) => JSON.stringify({ id: `c${i + 1}`, text })).join('\n'),
    });
    expect(imported.status).toBe(201);
    const task = await apiAs<{ id: string }>(product, `/api/projects/${projectId}/tasks`, { method: 'POST', body: { name: 'Spam', kind: 'single_label' } });
    taskId = task.id;
    const label: Record<string, string> = {};
    for (const name of ['HAM', 'SPAM']) label[name] = (await apiAs<{ id: string }>(product, `/api/projects/${projectId}/tasks/${task.id}/labels`, { method: 'POST', body: { name } })).id;
    // two heuristics with uploaded votes (external): no sandbox needed for this test
    const heuristic = async (name: string, re: RegExp, vote: string) => {
      const h = await apiAs<{ id: string }>(product!, `/api/projects/${projectId}/heuristics`, { method: 'POST', body: { name, taskId: task.id, type: 'external' } });
      const votes = texts.flatMap((t, i) => (re.test(t) ? [{ recordId: `c${i + 1}`, label: vote }] : []));
      await apiAs(product!, `/api/projects/${projectId}/heuristics/${h.id}/votes`, { method: 'POST', body: { votes } });
    };
    await heuristic('check or subscribe', /check|subscribe/i, 'SPAM');
    await heuristic('music', /song/i, 'HAM');
    await apiAs(product, `/api/projects/${projectId}/records/c1/labels/${task.id}`, { method: 'PUT', body: { labelIds: [label.SPAM] } });
    await apiAs(product, `/api/projects/${projectId}/records/c2/labels/${task.id}`, { method: 'PUT', body: { labelIds: [label.HAM] } });
  });

  afterAll(async () => {
    await browser?.close();
    await product?.stop();
  });

  it('runs weak supervision from the heuristics page and shows its status and confusion matrix', async () => {
    await page.goto(`${product!.url}/projects/${projectId}/heuristics`);
    const panel = page.getByTestId('ws-panel');
    // the task's saved configuration has arrived
    await panel.locator('.ws-panel[data-loaded="true"]').waitFor();
    // nothing chosen yet: the run button waits for a heuristic
    expect(await panel.getByTestId('ws-run').isDisabled()).toBe(true);
    await panel.locator('[data-heuristic="check or subscribe"] input').check();
    await panel.locator('[data-heuristic="music"] input').check();
    await panel.getByTestId('ws-model').selectOption('ours');
    // a bad minimum is refused in the form
    await panel.getByTestId('ws-min-confidence').fill('2');
    await panel.getByRole('alert').filter({ hasText: 'from 0 to 1' }).waitFor();
    expect(await panel.getByTestId('ws-run').isDisabled()).toBe(true);
    await panel.getByTestId('ws-min-confidence').fill('0.5');
    await panel.getByTestId('ws-run').click();
    await panel.locator('[data-testid="ws-run-row"][data-status="completed"]').waitFor({ timeout: 60_000 });
    // 5 of 6 comments have a vote: c1, c3, c5 (check / subscribe), c2, c6 (song); "nice" has none
    await expect.poll(() => panel.locator('[data-testid="ws-run-row"][data-status="completed"] [data-testid="ws-run-labeled"]').first().textContent()).toBe('5');
    await panel.getByTestId('ws-confusion').waitFor();
    await panel.getByTestId('ws-accuracy').waitFor();
    await screenshot(page, 'weak-supervision-01-run');
    // the configuration was saved with the run
    const saved = await apiAs<{ config: { heuristicIds: string[]; minConfidence: number; model: string } }>(product!, `/api/projects/${projectId}/tasks/${taskId}/weak-supervision`);
    expect(saved.config).toMatchObject({ minConfidence: 0.5, model: 'ours' });
    expect(saved.config.heuristicIds).toHaveLength(2);
  });

  it('shows the weak label and its confidence in the labeling view', async () => {
    await page.goto(`${product!.url}/projects/${projectId}/label`);
    await page.getByTestId('record-values').getByText('Check out my channel!').waitFor();
    const weak = page.getByTestId('weak-label');
    await weak.getByText('SPAM').waitFor();
    const confidence = await weak.getByTestId('weak-confidence').textContent();
    const value = Number.parseFloat(confidence ?? '');
    expect(value).toBeGreaterThan(50);
    expect(value).toBeLessThanOrEqual(100);
    // "nice" has no vote: no weak label
    await page.getByTestId('record-next').click();
    await page.getByTestId('record-values').getByText('great song').waitFor();
    await weak.getByText('HAM').waitFor();
    await page.getByTestId('record-next').click();
    await page.getByTestId('record-next').click();
    await page.getByTestId('record-values').getByText('nice').waitFor();
    await expect.poll(() => weak.count()).toBe(0);
    await screenshot(page, 'weak-supervision-02-labeling');
    expect(pageErrors()).toEqual([]);
  });
});
