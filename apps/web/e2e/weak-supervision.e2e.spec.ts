/**
 * Weak supervision in the browser: choose heuristics and the label model on the heuristics page,
 * run it through the workers, see the run complete and the confusion matrix, then see the weak
 * label with its confidence in the labeling view; filter the data browser by weak label and by
 * confidence; see an automatic re-run appear after a manual label changes in another tab; export
 * with a minimum confidence; run a heuristic without votes.
 */
import { readFile } from 'node:fs/promises';
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
  // c7 gets conflicting votes (subscribe → SPAM, song → HAM): a weak label with a lower confidence
  const texts = ['Check out my channel!', 'great song', 'please subscribe', 'nice', 'check it out now', 'love this song', 'subscribe for this song'];

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
    // 6 of 7 comments have a vote: c1, c3, c5, c7 (check / subscribe), c2, c6, c7 (song); "nice" has none
    await expect.poll(() => panel.locator('[data-testid="ws-run-row"][data-status="completed"] [data-testid="ws-run-labeled"]').first().textContent()).toBe('6');
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

  const WEAK = '__Spam__WEAK_SUPERVISION';
  type ExportedRow = { id: string } & Record<string, unknown>;
  /** every record's current weak label and confidence, from the API's export without a minimum */
  async function currentWeakLabels(): Promise<Map<string, { label: string; confidence: number }>> {
    const rows = await apiAs<ExportedRow[]>(product!, `/api/projects/${projectId}/export?format=json&minConfidence=0`);
    const out = new Map<string, { label: string; confidence: number }>();
    for (const row of rows) if (typeof row[WEAK] === 'string') out.set(row.id, { label: row[WEAK] as string, confidence: row[`${WEAK}__confidence`] as number });
    return out;
  }
  /** a threshold strictly between the lowest and the highest confidence, so that it splits the records */
  function splitting(weak: Map<string, { confidence: number }>): number {
    const values = [...weak.values()].map((w) => w.confidence);
    const [lo, hi] = [Math.min(...values), Math.max(...values)];
    const t = Number(((lo + hi) / 2).toFixed(4));
    expect(lo).toBeLessThan(t);
    expect(t).toBeLessThan(hi);
    return t;
  }
  const shownRecords = () => page.getByTestId('browser-table').locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-record-id')));
  const sorted = (ids: Iterable<string>) => [...ids].sort();

  it('filters the data browser by weak label and by weak-supervision confidence', async () => {
    const weak = await currentWeakLabels();
    const spam = sorted([...weak].filter(([, w]) => w.label === 'SPAM').map(([id]) => id));
    expect(spam).toEqual(expect.arrayContaining(['c1', 'c3', 'c5']));
    await page.goto(`${product!.url}/projects/${projectId}/browse`);
    await expect.poll(shownRecords).toHaveLength(texts.length);
    // the weak label's chip carries its confidence
    const c1 = weak.get('c1')!;
    const c1Chip = page.locator('tr[data-record-id="c1"] [data-testid="weak-confidence"]');
    expect(await c1Chip.textContent()).toBe(`${(c1.confidence * 100).toFixed(1)} %`);

    await page.getByTestId('add-label-condition').click();
    const label = page.getByTestId('filter-condition');
    await label.getByLabel('Label source').selectOption('weak_supervision');
    await label.getByLabel('Label', { exact: true }).selectOption({ label: 'SPAM' });
    await page.getByTestId('filter-apply').click();
    await expect.poll(async () => sorted((await shownRecords()) as string[])).toEqual(spam);
    // any weak label: every record a heuristic voted on ("nice" has none)
    await label.getByLabel('Label', { exact: true }).selectOption({ label: 'any label' });
    await page.getByTestId('filter-apply').click();
    await expect.poll(async () => sorted((await shownRecords()) as string[])).toEqual(sorted(weak.keys()));
    await label.getByRole('button', { name: 'Remove condition' }).click();

    const t = splitting(weak);
    await page.getByTestId('add-confidence-condition').click();
    const confidence = page.locator('[data-testid="filter-condition"][data-kind="confidence"]');
    // a percentage is not a confidence: said next to the condition, not sent
    await confidence.getByLabel('Minimum confidence').fill('80');
    await confidence.getByRole('alert').filter({ hasText: 'from 0 to 1' }).waitFor();
    await confidence.getByLabel('Minimum confidence').fill(String(t));
    expect(await confidence.getByRole('alert').count()).toBe(0);
    await page.getByTestId('filter-apply').click();
    const above = sorted([...weak].filter(([, w]) => w.confidence >= t).map(([id]) => id));
    await expect.poll(async () => sorted((await shownRecords()) as string[])).toEqual(above);
    await screenshot(page, 'weak-supervision-03-browser-confidence');
    await confidence.getByLabel('Minimum confidence').fill('');
    await confidence.getByLabel('Maximum confidence').fill(String(t));
    await page.getByTestId('filter-apply').click();
    const below = sorted([...weak].filter(([, w]) => w.confidence <= t).map(([id]) => id));
    expect(below.length).toBeGreaterThan(0);
    await expect.poll(async () => sorted((await shownRecords()) as string[])).toEqual(below);
    expect(pageErrors()).toEqual([]);
  });

  it('shows an automatic re-run on the open heuristics page after a manual label changes in another tab', async () => {
    await page.goto(`${product!.url}/projects/${projectId}/heuristics`);
    const panel = page.getByTestId('ws-panel');
    await panel.locator('.ws-panel[data-loaded="true"]').waitFor();
    await panel.getByTestId('ws-auto-rerun').check();
    await panel.getByTestId('ws-save').click();
    await panel.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    expect((await apiAs<{ config: { autoRerun: boolean } }>(product!, `/api/projects/${projectId}/tasks/${taskId}/weak-supervision`)).config.autoRerun).toBe(true);
    const autoRuns = panel.locator('[data-testid="ws-run-row"]', { hasText: '· auto' });
    expect(await autoRuns.count()).toBe(0);
    await panel.getByTestId('ws-confusion').getByText('2 records with a reference label').waitFor();
    // this page must not be reloaded from here on
    await page.evaluate(() => ((window as unknown as { wsMarker: boolean }).wsMarker = true));

    const other = await browser!.context.newPage();
    try {
      await other.goto(`${product!.url}/projects/${projectId}/label`);
      await other.getByTestId('record-values').getByText('Check out my channel!').waitFor();
      for (let i = 0; i < 4; i++) await other.getByTestId('record-next').click();
      await other.getByTestId('record-values').getByText('check it out now').waitFor();
      await other.getByTestId('task-panel').locator('button[data-label="SPAM"]').click();
      await expect
        .poll(async () => (await apiAs<{ answers: { source: string; labelIds?: string[] }[] }>(product!, `/api/projects/${projectId}/records/c5/labels`)).answers.some((a) => a.source === 'manual' && (a.labelIds ?? []).length === 1))
        .toBe(true);
    } finally {
      await other.close();
    }

    // the workers request the re-run after their debounce (5 s); the page follows it without a reload
    await panel.locator('[data-testid="ws-run-row"][data-status="completed"]', { hasText: '· auto' }).first().waitFor({ timeout: 60_000 });
    await panel.getByTestId('ws-confusion').getByText('3 records with a reference label').waitFor({ timeout: 20_000 });
    expect(await page.evaluate(() => (window as unknown as { wsMarker?: boolean }).wsMarker)).toBe(true);
    await screenshot(page, 'weak-supervision-04-auto-rerun');
    // off again, so that nothing below triggers a run
    await panel.getByTestId('ws-auto-rerun').uncheck();
    await panel.getByTestId('ws-save').click();
    // ("Saved." from the first save may still be on screen: ask the API)
    await expect.poll(async () => (await apiAs<{ config: { autoRerun: boolean } }>(product!, `/api/projects/${projectId}/tasks/${taskId}/weak-supervision`)).config.autoRerun).toBe(false);
    expect(pageErrors()).toEqual([]);
  });

  it('exports with a minimum confidence chosen in the export dialog', async () => {
    const weak = await currentWeakLabels();
    const t = splitting(weak);
    await page.goto(`${product!.url}/projects/${projectId}/browse`);
    await page.getByTestId('export-open').click();
    const dialog = page.getByTestId('export-dialog');
    const download = dialog.getByTestId('export-download');
    const minimum = dialog.getByTestId('export-min-confidence');
    await minimum.fill('2');
    await dialog.getByRole('alert').filter({ hasText: 'from 0 to 1' }).waitFor();
    expect(await download.getAttribute('aria-disabled')).toBe('true');
    expect(await download.getAttribute('href')).toBeNull();
    await minimum.fill(String(t));
    expect(await download.getAttribute('aria-disabled')).toBe('false');
    expect(await download.getAttribute('href')).toContain(`minConfidence=${t}`);
    const [file] = await Promise.all([page.waitForEvent('download'), download.click()]);
    const rows = JSON.parse(await readFile((await file.path())!, 'utf8')) as ExportedRow[];
    expect(rows.map((r) => r.id)).toEqual(texts.map((_, i) => `c${i + 1}`));
    let kept = 0;
    let dropped = 0;
    for (const row of rows) {
      const w = weak.get(row.id);
      if (w && w.confidence >= t) {
        kept++;
        expect(row[WEAK]).toBe(w.label);
        expect(row[`${WEAK}__confidence`]).toBeCloseTo(w.confidence, 12);
      } else {
        if (w) dropped++;
        expect(row[WEAK]).toBeNull();
        expect(row[`${WEAK}__confidence`]).toBeNull();
      }
    }
    expect(kept).toBeGreaterThan(0);
    expect(dropped).toBeGreaterThan(0);
    // manual labels are never filtered by the minimum
    expect(rows.find((r) => r.id === 'c1')!['__Spam__MANUAL']).toBe('SPAM');
    expect(pageErrors()).toEqual([]);
  });

  it('a heuristic without votes gives a run without weak labels that says why, never NaN', async () => {
    await apiAs(product!, `/api/projects/${projectId}/heuristics`, { method: 'POST', body: { name: 'silent', taskId, type: 'external' } });
    await page.goto(`${product!.url}/projects/${projectId}/heuristics`);
    const panel = page.getByTestId('ws-panel');
    await panel.locator('.ws-panel[data-loaded="true"]').waitFor();
    expect(await panel.getByTestId('ws-auto-rerun').isChecked()).toBe(false);
    for (const name of ['check or subscribe', 'music']) await panel.locator(`[data-heuristic="${name}"] input`).uncheck();
    await panel.locator('[data-heuristic="silent"] input').check();
    const before = await panel.getByTestId('ws-run-row').count();
    await panel.getByTestId('ws-run').click();
    await expect.poll(() => panel.getByTestId('ws-run-row').count()).toBe(before + 1);
    const row = panel.getByTestId('ws-run-row').first();
    await panel.locator('[data-testid="ws-run-row"][data-status="completed"]').first().waitFor();
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 60_000 }).toBe('completed');
    expect(await row.getByTestId('ws-run-labeled').textContent()).toBe('0');
    expect(await row.getByTestId('ws-run-none').textContent()).toContain('the chosen heuristics cast no votes');
    expect(await row.getByTestId('ws-run-mean').textContent()).toBe('–');
    expect(await row.textContent()).toContain('1 heuristic');
    expect(await panel.textContent()).not.toMatch(/NaN|Infinity/);
    await screenshot(page, 'weak-supervision-05-no-votes');
    expect(pageErrors()).toEqual([]);
  });

  it('is read only for an expert: the runs and the confusion matrix show, the controls are disabled (the API refuses them too)', async () => {
    const email = 'expert@example.com';
    const password = 'expert-password-0123';
    const invitation = await apiAs<{ token: string }>(product!, '/api/invitations', { method: 'POST', body: { email, projectId, role: 'expert' } });
    const accepted = await fetch(`${product!.url}/api/invitations/${encodeURIComponent(invitation.token)}/accept`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Expert', password }),
    });
    expect(accepted.status).toBeLessThan(300);
    const expert = await launchBrowser({ signInTo: null });
    try {
      const other = await expert.context.newPage();
      await other.goto(`${product!.url}/sign-in`);
      await other.getByLabel('E-mail').fill(email);
      await other.getByLabel('Password').fill(password);
      await other.getByRole('button', { name: 'Sign in' }).click();
      await other.getByRole('heading', { name: 'Projects', level: 1 }).waitFor();
      await other.goto(`${product!.url}/projects/${projectId}/heuristics`);
      const panel = other.getByTestId('ws-panel');
      await panel.locator('.ws-panel[data-loaded="true"]').waitFor();
      await panel.getByTestId('ws-read-only').waitFor();
      await panel.getByTestId('ws-confusion').waitFor();
      expect(await panel.getByTestId('ws-run-row').count()).toBeGreaterThan(0);
      for (const id of ['ws-run', 'ws-save', 'ws-model', 'ws-min-confidence', 'ws-auto-rerun']) expect(await panel.getByTestId(id).isDisabled(), id).toBe(true);
      expect(await panel.getByTestId('ws-heuristic').first().isDisabled()).toBe(true);
      // the task can still be switched to read another task's runs
      expect(await panel.getByTestId('ws-task').isDisabled()).toBe(false);
      // what the disabled button would have asked for is refused by the server
      const refused = await other.evaluate(async ([p, t]) => {
        const csrf = document.cookie.split('; ').find((c) => c.startsWith('refinery_csrf='))?.split('=')[1] ?? '';
        const r = await fetch(`/api/projects/${p}/tasks/${t}/weak-supervision/runs`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': decodeURIComponent(csrf) }, body: '{}' });
        return { status: r.status, code: ((await r.json()) as { error?: { code?: string } }).error?.code };
      }, [projectId, taskId] as const);
      expect(refused).toEqual({ status: 403, code: 'forbidden' });
      // the rest of the page is read only too: no create form, no delete, no save / run on a function
      await other.getByTestId('heuristics-read-only').waitFor();
      expect(await other.getByRole('heading', { name: 'New labeling function' }).count()).toBe(0);
      expect(await other.locator('[data-testid^="heuristic-delete-"]').count()).toBe(0);
      expect(await other.getByTestId('lookup-list-create').count()).toBe(0);
      await other.locator('.heuristics-table__name').first().click();
      await other.getByTestId('heuristic-detail').waitFor();
      expect(await other.getByTestId('heuristic-run').count()).toBe(0);
      expect(await other.getByTestId('heuristic-save').count()).toBe(0);
      await screenshot(other, 'weak-supervision-06-expert');
      // exports need owners or engineers too: the dialog says so and offers no download
      await other.getByTestId('export-open').click();
      await other.getByTestId('export-not-allowed').waitFor();
      expect(await other.getByTestId('export-download').getAttribute('aria-disabled')).toBe('true');
      expect(await other.getByTestId('export-download').getAttribute('href')).toBeNull();
    } finally {
      await expert.close();
    }
  });
});
