// Rewrites the route table in docs/api.md from the API's route table.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { apiRoutes, DEFAULT_API_CONFIG, type ApiContext } from '../src/index.ts';
import { ROUTES_BEGIN, ROUTES_END, routeTableMarkdown } from '../src/route-docs.ts';

// Building the table reads only configuration; handlers (which need the rest) never run here.
const routes = apiRoutes({ config: DEFAULT_API_CONFIG } as unknown as ApiContext);
const file = fileURLToPath(new URL('../../../docs/api.md', import.meta.url));
const doc = readFileSync(file, 'utf8');
const start = doc.indexOf(ROUTES_BEGIN);
const end = doc.indexOf(ROUTES_END);
if (start < 0 || end < start) throw new Error(`docs/api.md needs the markers ${ROUTES_BEGIN} and ${ROUTES_END}`);
writeFileSync(file, `${doc.slice(0, start)}${ROUTES_BEGIN}\n${routeTableMarkdown(routes)}\n${doc.slice(end)}`);
process.stdout.write(`docs/api.md: ${routes.length} routes\n`);
