import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiAs, startAuthenticatedProduct, OWNER_TOKEN } from './labeling-support';
import { launchBrowser, screenshot, watchPage, type LaunchedBrowser, type RunningProduct } from './support';

/**
 * Two people, two real browser contexts (each signed in with its own cookie session), one team
 * labeling session: each sees the other's presence, and a label one of them sets shows up on the
 * other's screen without a reload (mirrored into the session's Yjs document by the server).
 */
describe('live labeling session in two browsers', () => {
  let product: RunningProduct | undefined;
  const browsers: LaunchedBrowser[] = [];
  let owner: Page;
  let expert: Page;
  const problems: (() => string[])[] = [];
  let projectId = '';
  let sessionId = '';
  const expertAccount = { email: 'bea@example.com', password: 'bea-password-123', name: 'Bea Expert' };

  beforeAll(async () => {
    product = await startAuthenticatedProduct();
    const api = <T>(pathname: string, init: { method?: string; body?: unknown } = {}) => apiAs<T>(product!, pathname, init);
    projectId = (await api<{ id: string }>('/api/projects', { method: 'POST', body: { name: 'Live reviews' } })).id;
    const lines = ['I love this phone', 'Terrible battery life', 'Works as expected'].map((text, i) => JSON.stringify({ id: `r${i + 1}`, text })).join('\n');
    const imported = await fetch(`${product.url}/api/projects/${projectId}/imports?primaryKey=id`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OWNER_TOKEN}`, 'content-type': 'application/x-ndjson' },
      body: lines,
    });
    expect(imported.status).toBe(201);
    const task = await api<{ id: string }>(`/api/projects/${projectId}/tasks`, { method: 'POST', body: { name: 'Sentiment', kind: 'single_label' } });
    await api(`/api/projects/${projectId}/tasks/${task.id}/labels`, { method: 'POST', body: { name: 'positive', hotkey: 'p' } });
    await api(`/api/projects/${projectId}/tasks/${task.id}/labels`, { method: 'POST', body: { name: 'negative', hotkey: 'n' } });
    const invitation = await api<{ token: string }>('/api/invitations', { method: 'POST', body: { email: expertAccount.email, projectId, role: 'expert' } });
    const accepted = await fetch(`${product.url}/api/invitations/${invitation.token}/accept`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: expertAccount.name, password: expertAccount.password }),
    });
    expect(accepted.status).toBeLessThan(300);
    sessionId = (await api<{ id: string; position: string }>(`/api/projects/${projectId}/sessions`, { method: 'POST', body: { name: 'Team review', distribution: { overlap: 2 } } })).id;

    // the owner through the sign-in page (launchBrowser), the expert through it by hand
    const ownerBrowser = await launchBrowser();
    browsers.push(ownerBrowser);
    owner = await ownerBrowser.context.newPage();
    const expertBrowser = await launchBrowser({ signInTo: null });
    browsers.push(expertBrowser);
    expert = await expertBrowser.context.newPage();
    for (const page of [owner, expert]) {
      page.setDefaultTimeout(20_000);
      problems.push(watchPage(page));
    }
    await expert.goto(`${product.url}/sign-in`);
    await expert.getByLabel('E-mail').fill(expertAccount.email);
    await expert.getByLabel('Password').fill(expertAccount.password);
    await expert.getByRole('button', { name: 'Sign in' }).click();
    await expert.getByRole('heading', { name: 'Projects', level: 1 }).waitFor();
  }, 180_000);

  afterAll(async () => {
    const seen = problems.flatMap((p) => p());
    if (seen.length) console.warn(`Browsers reported:\n${seen.join('\n')}`);
    for (const b of browsers) await b.close();
    await product?.stop();
  });

  const avatar = (page: Page, name: string) => page.locator(`[data-testid="live-avatar"][data-user-name="${name}"]`);

  it('both see each other in the session', async () => {
    for (const page of [owner, expert]) {
      await page.goto(`${product!.url}/projects/${projectId}/sessions/${sessionId}`);
      await page.locator('[data-testid="labeling-grid"][data-ready="true"]').waitFor();
    }
    await avatar(owner, expertAccount.name).waitFor();
    await avatar(expert, 'Owner').waitFor();
    await owner.locator('[data-testid="live-presence"][data-status="connected"]').waitFor();
    // both opened record 1, so each is marked as "here"
    await owner.locator(`[data-testid="live-avatar"][data-user-name="${expertAccount.name}"][data-here="true"]`).waitFor();
    expect(await expert.getByTestId('live-record-labels').getAttribute('data-count')).toBe('0');
    await screenshot(owner, 'live-presence-owner');
    await screenshot(expert, 'live-presence-expert');
  });

  it("a label set in one browser appears in the other's without a reload", async () => {
    // no auto-advance: the owner stays on record 1
    const toggle = owner.getByTestId('auto-advance');
    if (await toggle.isChecked()) await toggle.uncheck();
    await owner.getByTestId('task-panel').filter({ hasText: 'Sentiment' }).locator('button[data-label="positive"]').click();
    await expert.locator('[data-testid="live-record-labels"][data-count="1"]').waitFor();
    expect(await expert.getByTestId('live-record-labels').textContent()).toContain('Owner');
    // the expert may see others' answers: the task panel shows the owner's label too, reloaded live
    await expert.waitForFunction(() => (document.querySelector('[data-testid="task-panel"] [data-testid="other-answer"]')?.textContent ?? '').includes('positive'));
    await screenshot(expert, 'live-label-arrived');

    // and the other way round
    await expert.getByTestId('task-panel').filter({ hasText: 'Sentiment' }).locator('button[data-label="negative"]').click();
    await owner.locator('[data-testid="live-record-labels"][data-count="2"]').waitFor();
    expect(await owner.getByTestId('live-record-labels').textContent()).toContain(expertAccount.name);
    await screenshot(owner, 'live-label-back');
  });

  it('the members page lists the team, changes a role and invites someone', async () => {
    const page = await browsers[0]!.context.newPage();
    page.setDefaultTimeout(20_000);
    problems.push(watchPage(page));
    await page.goto(`${product!.url}/projects/${projectId}`);
    await page.getByTestId('nav-members').click();
    const row = page.locator(`[data-testid="member-row"][data-email="${expertAccount.email}"]`);
    await row.waitFor();
    expect(await row.getByTestId('member-role').inputValue()).toBe('expert');
    await row.getByTestId('member-role').selectOption('annotator');
    await page.waitForFunction(
      (email) => (document.querySelector(`[data-testid="member-row"][data-email="${email}"] select`) as HTMLSelectElement | null)?.value === 'annotator',
      expertAccount.email,
    );
    const members = await apiAs<{ members: { email: string; role: string }[] }>(product!, `/api/projects/${projectId}/members`);
    expect(members.members.find((m) => m.email === expertAccount.email)?.role).toBe('annotator');
    await page.getByTestId('invite-email').fill('cleo@example.com');
    await page.getByTestId('invite-role').selectOption('expert');
    await page.getByTestId('invite-submit').click();
    await page.getByTestId('invite-link').waitFor();
    expect(await page.getByTestId('invite-link').textContent()).toContain('/sign-in?invitation=');
    await screenshot(page, 'members-page');
    await page.close();
  });

  it('presence follows the record: moving on shows the other as elsewhere', async () => {
    await expert.getByTestId('record-next').click();
    await owner.locator(`[data-testid="live-avatar"][data-user-name="${expertAccount.name}"][data-here="false"]`).waitFor();
    await owner.close();
    await expert.locator('[data-testid="live-avatar"][data-user-name="Owner"]').waitFor({ state: 'detached' });
  });
});
