/**
 * Heuristics in the browser: write a labeling function, run it over the project through the
 * workers, see its status and statistics; a function that throws shows the kind, line and record.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { apiAs, authenticate, startAuthenticatedProduct } from './labeling-support';
import { launchBrowser, screenshot, type LaunchedBrowser, type RunningProduct } from './support';

describe('heuristics in the browser', () => {
  let product: RunningProduct | undefined;
  let browser: LaunchedBrowser | undefined;
  let page: Page;
  let projectId: string;
  let taskId: string;

  beforeAll(async () => {
    product = await startAuthenticatedProduct();
    browser = await launchBrowser({ signInTo: product });
    await authenticate(browser.context);
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    projectId = (await apiAs<{ id: string }>(product, '/api/projects', { method: 'POST', body: { name: 'YouTube comments' } })).id;
    const texts = ['Check out my channel!', 'great song', 'please subscribe', 'nice', 'check it out now', 'love this'];
    const imported = await fetch(`${product.url}/api/projects/${projectId}/imports?primaryKey=id`, {
      method: 'POST',
      headers: { authorization: 'Bearer rfy_e2e_labeling_token_0123456789abcdef', 'content-type': 'application/x-ndjson' },
      body: texts.map((text, i) => JSON.stringify({ id: `c${i + 1}`, text })).join('\n'),
    });
    expect(imported.status).toBe(201);
    const task = await apiAs<{ id: string }>(product, `/api/projects/${projectId}/tasks`, { method: 'POST', body: { name: 'Spam', kind: 'single_label' } });
    taskId = task.id;
    for (const name of ['HAM', 'SPAM']) await apiAs(product, `/api/projects/${projectId}/tasks/${task.id}/labels`, { method: 'POST', body: { name } });
  });

  afterAll(async () => {
    await browser?.close();
    await product?.stop();
  });

  /**
   * Replaces the code in a CodeMirror editor (a contenteditable): focus, select all, insert the text
   * as one input (typing key by key would trigger auto-indent and bracket closing), then read back
   * what the editor holds.
   */
  async function typeCode(scope: string, code: string): Promise<void> {
    const editor = page.getByTestId(scope).getByTestId('code-editor');
    await editor.click();
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.insertText(code);
    await expect.poll(async () => editor.evaluate((el) => Array.from(el.querySelectorAll('.cm-line'), (l) => l.textContent ?? '').join('\n'))).toBe(code);
  }

  async function create(name: string, code: string): Promise<void> {
    await page.getByTestId('heuristic-name').fill(name);
    await page.getByTestId('heuristic-language').selectOption('javascript');
    await typeCode('heuristic-create-form', code);
    await page.getByTestId('heuristic-create').click();
    // the new heuristic opens in the detail panel (replacing any other)
    await page.locator('[data-testid="heuristic-detail"]', { hasText: name }).waitFor();
  }

  it('creates a labeling function, runs it through the workers and shows its statistics', async () => {
    await page.goto(`${product!.url}/projects/${projectId}/heuristics`);
    await page.getByTestId('heuristic-create-form').waitFor();
    // the editor follows the language: Python mode, then back to JavaScript
    await page.getByTestId('heuristic-language').selectOption('python');
    await page.locator('[data-testid="heuristic-create-form"] [data-language="python"] .cm-content', { hasText: 'def lf(record):' }).waitFor();
    await create('check out', 'function lf(record) {\n  if (/check.*out/i.test(record.text)) return "SPAM";\n}');
    await page.getByTestId('heuristic-run').click();
    const row = page.locator('[data-testid^="heuristic-row-"]', { hasText: 'check out' });
    await row.getByText('completed').waitFor({ timeout: 60_000 });
    // 2 of 6 comments match /check.*out/i
    await row.getByText('33.3%').waitFor();
    await screenshot(page, 'heuristics-01-completed');
  });

  it('a function that throws fails its run with the kind, the line and the record', async () => {
    await create('broken', 'function lf(record) {\n  if (record.text.length < 5) {\n    throw new Error("too short");\n  }\n}');
    // the keyboard shortcut runs from the editor (Ctrl/Cmd+Enter)
    await page.getByTestId('heuristic-detail').getByTestId('code-editor').click();
    await page.keyboard.press('ControlOrMeta+Enter');
    const error = page.getByTestId('heuristic-run-error');
    await error.waitFor({ timeout: 60_000 });
    const text = (await error.textContent()) ?? '';
    expect(text).toContain('line 3');
    expect(text).toContain('c4'); // "nice" is the first record shorter than 5 characters
    expect(text).toContain('too short');
    // the error is a lint diagnostic at line 3 of the editor: the line is marked, the gutter has
    // an error marker, and the range under the error is underlined
    const detail = page.getByTestId('heuristic-detail');
    const errorLine = detail.getByTestId('code-error-line');
    await errorLine.waitFor();
    expect(await errorLine.textContent()).toContain('throw new Error("too short");');
    await detail.locator('.cm-lint-marker-error').waitFor();
    expect(await detail.locator('.cm-lintRange-error').count()).toBeGreaterThan(0);
    // hovering the marked range shows the message
    await detail.locator('.cm-lintRange-error').first().hover();
    await detail.locator('.cm-tooltip-lint').getByText('too short').first().waitFor();
    await screenshot(page, 'heuristics-02-failed');
  });

  it('crowd labels as a heuristic: created from the form, listed with the crowd’s coverage', async () => {
    // two crowd-link holders answer c1 (SPAM, SPAM) and c2 (tie: no vote)
    const slice = await apiAs<{ id: string }>(product!, `/api/projects/${projectId}/slices`, { method: 'POST', body: { name: 'All', kind: 'static', recordIds: ['c1', 'c2'] } });
    const link = await apiAs<{ token: string }>(product!, `/api/projects/${projectId}/crowd-links`, { method: 'POST', body: { name: 'Crowd', sliceId: slice.id, taskId, quota: 2, expiresInHours: 1 } });
    const labels = (await apiAs<{ tasks: Array<{ id: string; labels: Array<{ id: string; name: string }> }> }>(product!, `/api/projects/${projectId}/tasks`)).tasks.find((t) => t.id === taskId)!.labels;
    const labelId = (name: string) => labels.find((l) => l.name === name)!.id;
    const answers: Array<Array<[string, string]>> = [[['c1', 'SPAM'], ['c2', 'SPAM']], [['c1', 'SPAM'], ['c2', 'HAM']]];
    for (const holder of answers) {
      const joined = (await (await fetch(`${product!.url}/api/crowd/${link.token}/join`, { method: 'POST' })).json()) as { credential: string };
      for (const [record, name] of holder) {
        const r = await fetch(`${product!.url}/api/crowd/${link.token}/records/${record}/labels/${taskId}`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${joined.credential}`, 'content-type': 'application/json' },
          body: JSON.stringify({ labelIds: [labelId(name)] }),
        });
        expect(r.status).toBe(200);
      }
    }
    await page.getByTestId('heuristic-name').fill('the crowd');
    await page.getByTestId('heuristic-type').selectOption('crowd');
    await page.getByTestId('heuristic-crowd-hint').waitFor();
    expect(await page.getByTestId('heuristic-create-form').getByTestId('code-editor').count()).toBe(0);
    await page.getByTestId('heuristic-create').click();
    await page.getByTestId('heuristic-crowd-detail').waitFor();
    const row = page.locator('[data-testid^="heuristic-row-"]', { hasText: 'the crowd' });
    await row.getByText('Crowd labels').waitFor();
    await row.getByText('follows the crowd').waitFor();
    // 1 of 6 comments has a crowd majority (c1)
    await expect.poll(async () => (await page.reload(), await row.getByText('16.7%').count()), { timeout: 20_000 }).toBe(1);
    // weak supervision offers it with its votes
    await page.getByTestId('ws-panel').getByText('crowd labels · 1 votes').waitFor();
    await screenshot(page, 'heuristics-03-crowd');
  });
});
