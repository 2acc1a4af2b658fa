import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiAs, authenticate, OWNER_TOKEN, startAuthenticatedProduct } from './labeling-support';
import { launchBrowser, screenshot, watchPage, type LaunchedBrowser, type RunningProduct } from './support';

const RECORDS = ['I love this phone', 'Terrible battery life', 'Screen broke after a week', 'Works as expected', 'Great value'];

/**
 * Two annotators label a few records (the owner in the browser with hotkeys, an expert through
 * the API); the dashboard shows their label counts and agreement, live and as of a time before the
 * expert started. Expected figures (records r1–r4):
 *   owner:  r1 positive, r2 negative, r3 negative
 *   expert: r1 positive, r2 positive, r3 negative, r4 negative
 *   shared r1–r3, agree on r1 and r3: 66.7 %; Cohen's κ (6/9 − 4/9)/(5/9) = 0.400
 *   Fleiss over r1 (PP), r2 (PN), r3 (NN): P̄ 2/3, P̄e ½ → 0.333; Krippendorff's α 1 − 5·2/18 = 0.444
 *   reference: r1 positive, r3 negative, r4 negative (r2 disputed)
 *   an external heuristic votes r1 positive, r2 negative, r3 positive, r5 positive
 */
describe('project dashboard', () => {
  let product: RunningProduct | undefined;
  let browser: LaunchedBrowser | undefined;
  let page: Page;
  let problems: () => string[] = () => [];
  let projectId = '';
  let taskId = '';
  const label: Record<string, string> = {};
  let expert = { id: '', token: '' };
  let beforeExpert = '';

  beforeAll(async () => {
    product = await startAuthenticatedProduct();
    browser = await launchBrowser();
    await authenticate(browser.context);
    page = await browser.context.newPage();
    page.setDefaultTimeout(30_000);
    problems = watchPage(page);
  }, 120_000);

  afterAll(async () => {
    const seen = problems();
    if (seen.length) console.warn(`Browser reported:\n${seen.join('\n')}`);
    await browser?.close();
    await product?.stop();
  });

  const api = <T>(pathname: string, init: { method?: string; body?: unknown } = {}) => apiAs<T>(product!, pathname, init);

  async function asExpert(pathname: string, body: unknown): Promise<void> {
    const res = await fetch(`${product!.url}${pathname}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${expert.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status, await res.clone().text()).toBe(200);
  }

  async function waitForPosition(n: number, total: number): Promise<void> {
    await page.waitForFunction(
      ([want]) => (document.querySelector('[data-testid="record-position"]')?.textContent ?? '').replace(/\s+/g, ' ').includes(want!),
      [`Record ${n} of ${total}`] as const,
    );
  }

  /** the distribution table as { source name: [positive, negative, total] } */
  async function distribution(): Promise<Record<string, number[]>> {
    const rows = await page.getByTestId('distribution').locator('tbody tr').all();
    const out: Record<string, number[]> = {};
    for (const row of rows) {
      const cells = (await row.locator('td').allTextContents()).map((c) => c.trim());
      out[cells[0]!] = cells.slice(1).map(Number);
    }
    return out;
  }

  it('sets up a project with a task, an expert, and the expert can label', async () => {
    projectId = (await api<{ id: string }>('/api/projects', { method: 'POST', body: { name: 'Phone reviews' } })).id;
    const jsonl = RECORDS.map((text, i) => JSON.stringify({ id: `r${i + 1}`, text })).join('\n');
    const imported = await fetch(`${product!.url}/api/projects/${projectId}/imports?primaryKey=id`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OWNER_TOKEN}`, 'content-type': 'application/x-ndjson' },
      body: jsonl,
    });
    expect(imported.status).toBe(201);
    taskId = (await api<{ id: string }>(`/api/projects/${projectId}/tasks`, { method: 'POST', body: { name: 'Sentiment', kind: 'single_label' } })).id;
    for (const [name, hotkey] of [
      ['positive', 'p'],
      ['negative', 'n'],
    ] as const) {
      label[name] = (await api<{ id: string }>(`/api/projects/${projectId}/tasks/${taskId}/labels`, { method: 'POST', body: { name, hotkey } })).id;
    }

    // an expert joins through an invitation and gets an API token
    const inv = await api<{ token: string }>('/api/invitations', { method: 'POST', body: { email: 'erin@example.com', projectId, role: 'expert' } });
    const accepted = await fetch(`${product!.url}/api/invitations/${inv.token}/accept`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Erin', password: 'erin-password-1' }),
    });
    expect(accepted.status).toBe(201);
    const session = (await accepted.json()) as { user: { id: string }; csrfToken: string };
    const cookie = accepted.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const token = await fetch(`${product!.url}/api/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': session.csrfToken },
      body: JSON.stringify({ name: 'e2e' }),
    });
    expect(token.status).toBe(201);
    expert = { id: session.user.id, token: ((await token.json()) as { token: string }).token };
  }, 60_000);

  it('the owner labels three records in the browser', async () => {
    await page.goto(`${product!.url}/projects/${projectId}/label`);
    await waitForPosition(1, 5);
    await page.locator('[data-testid="labeling-grid"][data-ready="true"]').waitFor();
    for (const [key, next] of [
      ['p', 2],
      ['n', 3],
      ['n', 4],
    ] as const) {
      await page.keyboard.press(key);
      await waitForPosition(next, 5);
    }
    // a point in time after the owner's labels and before the expert's (whole seconds: the picker has no milliseconds)
    await new Promise((r) => setTimeout(r, 1200));
    const t = new Date(Math.ceil(Date.now() / 1000) * 1000);
    beforeExpert = t.toISOString();
    await new Promise((r) => setTimeout(r, Math.max(0, t.getTime() + 1200 - Date.now())));
  }, 60_000);

  it('the expert labels four records through the API; an external heuristic votes', async () => {
    const h = await api<{ id: string }>(`/api/projects/${projectId}/heuristics`, { method: 'POST', body: { name: 'mentions love', taskId, type: 'external' } });
    const votes = { votes: [['r1', 'positive'], ['r2', 'negative'], ['r3', 'positive'], ['r5', 'positive']].map(([recordId, l]) => ({ recordId, label: l })) };
    await api(`/api/projects/${projectId}/heuristics/${h.id}/votes`, { method: 'POST', body: votes });
    for (const [record, l] of [
      ['r1', 'positive'],
      ['r2', 'positive'],
      ['r3', 'negative'],
      ['r4', 'negative'],
    ] as const) {
      await asExpert(`/api/projects/${projectId}/records/${record}/labels/${taskId}`, { labelIds: [label[l]] });
    }
  });

  it('the dashboard shows label counts per source, charts and agreement', async () => {
    await page.getByTestId('nav-dashboard').click();
    await page.waitForURL(/\/dashboard$/);
    await page.getByTestId('distribution').waitFor();
    // the expert's labels arrive through the projector: reload until they are there
    await expect
      .poll(
        async () => {
          const d = await distribution();
          if (!d['Erin']) await page.reload().then(() => page.getByTestId('distribution').waitFor());
          return d;
        },
        { timeout: 20_000, interval: 500 },
      )
      .toEqual({ Owner: [1, 2, 3], Erin: [2, 2, 4], Reference: [1, 2, 3], 'mentions love (heuristic)': [3, 1, 4] });

    // the heuristic against the reference (r1 positive → positive, r3 negative → positive, r4 negative → no vote)
    expect((await page.getByTestId('confusion-summary').textContent())?.replace(/\s+/g, ' ').trim()).toBe('1 of 2 votes on records with a reference agree with it (50.0 %)');
    const agreement = page.getByTestId('agreement');
    await agreement.getByTestId('agreement-pairs').waitFor();
    expect((await agreement.getByTestId('agreement-fleiss').textContent())?.trim()).toBe('0.333');
    expect((await agreement.getByTestId('agreement-alpha').textContent())?.trim()).toBe('0.444');
    const pair = (await agreement.getByTestId('agreement-pairs').locator('tbody tr').first().locator('td').allTextContents()).map((c) => c.trim());
    expect(pair.slice(2)).toEqual(['3', '2', '66.7 %', '0.400']);
    expect(pair.slice(0, 2).sort()).toEqual(['Erin', 'Owner']);

    const progress = (await page.getByTestId('progress').locator('tbody tr').all()).length;
    expect(progress).toBe(2);
    // the chart library draws into canvases (distribution and progress at least)
    await expect.poll(() => page.locator('.dashboard-chart canvas').count()).toBeGreaterThanOrEqual(3);
    await screenshot(page, 'dashboard-01-live');
  }, 60_000);

  it('"as of" a time before the expert labeled shows the owner alone', async () => {
    const t = new Date(beforeExpert);
    const pad = (n: number) => String(n).padStart(2, '0');
    const local = `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}T${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
    await page.getByTestId('as-of-input').fill(local);
    await page.getByTestId('as-of-apply').click();
    await page.waitForFunction(() => /As of/.test(document.querySelector('[data-testid="dashboard-point"]')?.textContent ?? ''), undefined, { timeout: 60_000 });
    // the heuristic's votes came after that time too
    await expect.poll(distribution).toEqual({ Owner: [1, 2, 3], Reference: [1, 2, 3] });
    expect(await page.getByTestId('agreement').textContent()).toContain('Agreement needs at least two annotators');
    await screenshot(page, 'dashboard-02-as-of');

    await page.getByTestId('as-of-live').click();
    await page.waitForFunction(() => (document.querySelector('[data-testid="dashboard-point"]')?.textContent ?? '').trim() === 'Live');
    await expect.poll(distribution).toEqual({ Owner: [1, 2, 3], Erin: [2, 2, 4], Reference: [1, 2, 3], 'mentions love (heuristic)': [3, 1, 4] });
    expect(problems().filter((p) => p.startsWith('pageerror'))).toEqual([]);
  }, 90_000);
});
