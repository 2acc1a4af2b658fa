import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiAs, OWNER_TOKEN, startAuthenticatedProduct } from './labeling-support';
import { launchBrowser, screenshot, watchPage, type LaunchedBrowser, type RunningProduct } from './support';

const RECORDS = [
  { id: 'r1', text: 'I love this phone', channel: 'web' },
  { id: 'r2', text: 'Terrible battery life', channel: 'app' },
  { id: 'r3', text: 'Works as expected', channel: 'web' },
];

interface LabelsBody {
  answers: { taskId: string; source: string; annotator: string; labelIds: string[] }[];
}

/** A crowd link made on the members page, opened in a second browser without any account. */
describe('crowd links', () => {
  let product: RunningProduct | undefined;
  let owner: LaunchedBrowser | undefined;
  let stranger: LaunchedBrowser | undefined;
  let ownerPage: Page;
  let crowdPage: Page;
  const problems: (() => string[])[] = [];
  let projectId = '';
  let taskId = '';
  const labels: Record<string, string> = {};

  beforeAll(async () => {
    product = await startAuthenticatedProduct();
    projectId = (await apiAs<{ id: string }>(product, '/api/projects', { method: 'POST', body: { name: 'Crowd reviews' } })).id;
    const imported = await fetch(`${product.url}/api/projects/${projectId}/imports?primaryKey=id`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OWNER_TOKEN}`, 'content-type': 'application/x-ndjson' },
      body: RECORDS.map((r) => JSON.stringify(r)).join('\n'),
    });
    expect(imported.status).toBe(201);
    taskId = (await apiAs<{ id: string }>(product, `/api/projects/${projectId}/tasks`, { method: 'POST', body: { name: 'Sentiment', kind: 'single_label' } })).id;
    for (const [name, hotkey] of [
      ['positive', 'p'],
      ['negative', 'n'],
    ] as const) {
      labels[name] = (await apiAs<{ id: string }>(product, `/api/projects/${projectId}/tasks/${taskId}/labels`, { method: 'POST', body: { name, hotkey } })).id;
    }
    await apiAs(product, `/api/projects/${projectId}/slices`, { method: 'POST', body: { name: 'Everything', kind: 'static', recordIds: RECORDS.map((r) => r.id) } });
    owner = await launchBrowser({ signInTo: product });
    stranger = await launchBrowser({ signInTo: null });
    ownerPage = await owner.context.newPage();
    crowdPage = await stranger.context.newPage();
    for (const page of [ownerPage, crowdPage]) {
      page.setDefaultTimeout(20_000);
      problems.push(watchPage(page));
    }
  });

  afterAll(async () => {
    const seen = problems.flatMap((p) => p());
    if (seen.length) console.warn(`Browser reported:\n${seen.join('\n')}`);
    await owner?.close();
    await stranger?.close();
    await product?.stop();
  });

  let url = '';

  it('the owner creates a link for a slice on the members page', async () => {
    await ownerPage.goto(`${product!.url}/projects/${projectId}/members`);
    await ownerPage.getByTestId('crowd-create').waitFor();
    await ownerPage.waitForFunction(() => (document.querySelector('[data-testid="crowd-slice"]') as HTMLSelectElement | null)?.value !== '');
    await ownerPage.getByTestId('crowd-name').fill('Weekend crowd');
    await ownerPage.getByTestId('crowd-task').selectOption(taskId);
    await ownerPage.getByTestId('crowd-quota').fill('2');
    await ownerPage.getByTestId('crowd-submit').click();
    await ownerPage.getByTestId('crowd-url').waitFor();
    url = (await ownerPage.getByTestId('crowd-url').textContent())!.trim();
    expect(url).toMatch(/\/crowd\/rfyl_[A-Za-z0-9_-]{43}$/);
    await ownerPage.getByTestId('crowd-table').waitFor();
    expect(await ownerPage.getByTestId('crowd-status').first().textContent()).toContain('active');
    await screenshot(ownerPage, 'crowd-link-created');
  });

  it('a stranger opens it in a fresh browser, labels two records (hotkey and button) and reaches the quota', async () => {
    await crowdPage.goto(url);
    await crowdPage.getByTestId('crowd-pseudonym').waitFor();
    const pseudonym = (await crowdPage.getByTestId('crowd-pseudonym').textContent())!.trim();
    expect(pseudonym).toMatch(/^crowd-[0-9a-f]{6}$/);
    expect(await crowdPage.getByTestId('crowd-progress').textContent()).toContain('0 of 2');
    await crowdPage.getByTestId('crowd-value-text').waitFor();
    expect(await crowdPage.getByTestId('crowd-value-text').textContent()).toBe('I love this phone');
    await screenshot(crowdPage, 'crowd-labeling');
    await crowdPage.keyboard.press('p');
    await crowdPage.waitForFunction(() => document.querySelector('[data-testid="crowd-value-text"]')?.textContent === 'Terrible battery life');
    expect(await crowdPage.getByTestId('crowd-progress').textContent()).toContain('1 of 2');
    await crowdPage.getByTestId('crowd-label-negative').click();
    await crowdPage.getByTestId('crowd-finished').waitFor();
    expect(await crowdPage.getByTestId('crowd-progress').textContent()).toContain('2 of 2');
    await screenshot(crowdPage, 'crowd-quota-reached');

    // the owner sees the crowd labels: in the API (source crowd, the pseudonym) and on the members page
    for (const [recordId, label] of [
      ['r1', 'positive'],
      ['r2', 'negative'],
    ] as const) {
      let answers: LabelsBody['answers'] = [];
      for (let i = 0; i < 100 && !answers.some((a) => a.source === 'crowd'); i++) {
        answers = (await apiAs<LabelsBody>(product!, `/api/projects/${projectId}/records/${recordId}/labels`)).answers;
        if (!answers.some((a) => a.source === 'crowd')) await new Promise((r) => setTimeout(r, 100));
      }
      expect(answers.filter((a) => a.source === 'crowd').map((a) => [a.annotator, a.labelIds])).toEqual([[pseudonym, [labels[label]]]]);
    }
    for (let i = 0; i < 50; i++) {
      await ownerPage.getByTestId('crowd-refresh').click();
      if ((await ownerPage.getByTestId('crowd-records').first().textContent())?.trim() === '2') break;
      await ownerPage.waitForTimeout(200);
    }
    expect((await ownerPage.getByTestId('crowd-records').first().textContent())?.trim()).toBe('2');
    expect((await ownerPage.getByTestId('crowd-holders').first().textContent())?.trim()).toBe('1');
    await screenshot(ownerPage, 'crowd-link-uses');
  });

  it('after the owner revokes the link the crowd page says it cannot be used', async () => {
    await ownerPage.getByTestId('crowd-revoke').first().click();
    await ownerPage.waitForFunction(() => document.querySelector('[data-testid="crowd-status"]')?.textContent?.includes('revoked'));
    await crowdPage.reload();
    await crowdPage.getByText('This link cannot be used').waitFor();
    expect(await crowdPage.getByTestId('crowd-record').count()).toBe(0);
    await screenshot(crowdPage, 'crowd-link-revoked');
  });
});
