/**
 * Helpers shared by the labeling and data-browser browser tests.
 * The product requires authentication: these tests start it with a seeded owner API token and
 * send it as `Authorization: Bearer` from the browser context (bearer requests need no CSRF token).
 */
import type { BrowserContext } from 'playwright-core';
import { startProduct, type RunningProduct } from './support';

export const OWNER_TOKEN = 'rfy_e2e_labeling_token_0123456789abcdef';

export function startAuthenticatedProduct(): Promise<RunningProduct> {
  return startProduct({ env: { REFINERY_ADMIN_TOKEN: OWNER_TOKEN } });
}

export async function authenticate(context: BrowserContext): Promise<void> {
  await context.setExtraHTTPHeaders({ authorization: `Bearer ${OWNER_TOKEN}` });
}

/** GET (or another method) on the API as the owner; throws with the body on a non-2xx answer. */
export async function apiAs<T>(product: RunningProduct, pathname: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const response = await fetch(`${product.url}${pathname}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${OWNER_TOKEN}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${pathname} → ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}
