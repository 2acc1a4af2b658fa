import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { apiRoutes } from './app.ts';
import { DEFAULT_API_CONFIG, type ApiContext } from './context.ts';
import { routeTableMarkdown, ROUTES_BEGIN, ROUTES_END } from './route-docs.ts';

describe('docs/api.md', () => {
  it('lists exactly the routes of the route table (run `npm run docs:routes` after adding one)', () => {
    const routes = apiRoutes({ config: DEFAULT_API_CONFIG } as unknown as ApiContext);
    const doc = readFileSync(new URL('../../../docs/api.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf(ROUTES_BEGIN) + ROUTES_BEGIN.length, doc.indexOf(ROUTES_END)).trim();
    expect(section).toBe(routeTableMarkdown(routes));
  });

  it('no two routes share a method and path', () => {
    const routes = apiRoutes({ config: DEFAULT_API_CONFIG } as unknown as ApiContext);
    const keys = routes.map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
