// Proves the module-boundary rules fire (and stay quiet for allowed imports), through ESLint's Node API with the
// real root eslint.config.js and the real workspace tags.   Run: node --test tools/eslint/
import assert from 'node:assert/strict';
import { describe, it, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { constraints } from './constraints.js';
import { readWorkspace } from './boundaries.js';

const workspaceRoot = fileURLToPath(new URL('../../', import.meta.url));
const BOUNDARY_RULES = new Set([
  '@typescript-eslint/no-restricted-imports',
  'refinery/no-restricted-dynamic-imports',
  'refinery/no-relative-imports-across-projects',
]);

let eslint;
before(() => {
  eslint = new ESLint({ cwd: workspaceRoot });
});

/** Boundary errors for `code` linted as if it lived at `filePath` (relative to the workspace root). */
async function boundaryErrors(filePath, code) {
  const [result] = await eslint.lintText(code, { filePath });
  assert.ok(result, `no lint result for ${filePath}`);
  const fatal = result.messages.filter((m) => m.fatal);
  assert.deepEqual(fatal, [], `parse error in test snippet for ${filePath}`);
  return result.messages.filter((m) => m.severity === 2 && BOUNDARY_RULES.has(m.ruleId));
}

async function assertBanned(filePath, code, { rule = '@typescript-eslint/no-restricted-imports', mentions } = {}) {
  const errors = await boundaryErrors(filePath, code);
  assert.ok(
    errors.some((e) => e.ruleId === rule),
    `expected ${rule} to reject in ${filePath}:\n  ${code}\ngot: ${JSON.stringify(errors.map((e) => e.ruleId))}`,
  );
  if (mentions) assert.ok(errors.some((e) => e.message.includes(mentions)), `message should mention "${mentions}": ${errors.map((e) => e.message).join('\n')}`);
}

async function assertAllowed(filePath, code) {
  const errors = await boundaryErrors(filePath, code);
  assert.deepEqual(errors.map((e) => `${e.ruleId}: ${e.message}`), [], `expected no boundary error in ${filePath}:\n  ${code}`);
}

const use = (name) => `\nexport const _use = ${name};\n`;

describe('type:domain (libs/domain, libs/weak-supervision) stays pure', () => {
  const file = 'libs/domain/src/x.ts';
  for (const [spec, code] of [
    ['pg', "import pg from 'pg';" + use('pg')],
    ['@electric-sql/pglite', "import { PGlite } from '@electric-sql/pglite';" + use('PGlite')],
    ['express', "import express from 'express';" + use('express')],
    ['kafkajs', "import { Kafka } from 'kafkajs';" + use('Kafka')],
    ['isolated-vm', "import ivm from 'isolated-vm';" + use('ivm')],
    ['vue', "import { ref } from 'vue';" + use('ref')],
    ['pinia', "import { defineStore } from 'pinia';" + use('defineStore')],
    ['vue-router', "import { createRouter } from 'vue-router';" + use('createRouter')],
    ['ws', "import { WebSocket } from 'ws';" + use('WebSocket')],
    ['yjs', "import * as Y from 'yjs';" + use('Y')],
    ['y-websocket', "import { WebsocketProvider } from 'y-websocket';" + use('WebsocketProvider')],
    ['@y/protocols', "import * as p from '@y/protocols/awareness';" + use('p')],
    ['node:fs', "import { readFileSync } from 'node:fs';" + use('readFileSync')],
    ['fs', "import { readFileSync } from 'fs';" + use('readFileSync')],
    ['node:fs/promises', "import { readFile } from 'node:fs/promises';" + use('readFile')],
    ['node:net', "import net from 'node:net';" + use('net')],
    ['node:http', "import http from 'node:http';" + use('http')],
    ['node:child_process', "import { spawn } from 'node:child_process';" + use('spawn')],
    ['export * from pg', "export * from 'pg';"],
  ]) {
    it(`libs/domain may not import ${spec}`, () => assertBanned(file, code));
  }

  it('libs/weak-supervision may not import express', () =>
    assertBanned('libs/weak-supervision/src/x.ts', "import express from 'express';" + use('express'), { mentions: 'domain-is-pure' }));
  it('libs/weak-supervision may not import pg', () => assertBanned('libs/weak-supervision/src/models/x.ts', "import pg from 'pg';" + use('pg')));

  it('bans the same packages when loaded dynamically', async () => {
    await assertBanned(file, "export const load = () => import('pg');", { rule: 'refinery/no-restricted-dynamic-imports' });
    await assertBanned(file, "export const load = () => import('node:fs');", { rule: 'refinery/no-restricted-dynamic-imports' });
  });

  it('may use event TYPES from @refinery/events, but not its runtime (it opens databases)', async () => {
    await assertAllowed(file, "import type { Recorded, EventStore } from '@refinery/events';\nexport type R = Recorded | EventStore;");
    await assertAllowed(file, "import { type Recorded } from '@refinery/events';\nexport type R = Recorded;");
    await assertBanned(file, "import { START } from '@refinery/events';" + use('START'), { mentions: '@refinery/events' });
    await assertBanned(file, "import { PostgresEventStore } from '@refinery/events';" + use('PostgresEventStore'));
    await assertBanned(file, "export const load = () => import('@refinery/events');", { rule: 'refinery/no-restricted-dynamic-imports' });
    await assertBanned(file, "import { testBackends } from '@refinery/events/testing';" + use('testBackends'));
  });

  it('may import pure domain/util libs and harmless packages', async () => {
    await assertAllowed(file, "import { labelMatrixFromDense } from '@refinery/weak-supervision';" + use('labelMatrixFromDense'));
    await assertAllowed(file, "import { analyzeImport } from '@refinery/importing';" + use('analyzeImport'));
    await assertAllowed(file, "import { z } from 'zod';\nimport { randomUUID } from 'node:crypto';\nexport const f = () => [z, randomUUID];");
    await assertAllowed(file, "import { helper } from './helper.ts';" + use('helper'));
  });

  it('may not import server-only libs (sandbox: scope:server, isolated-vm)', () =>
    assertBanned(file, "import { run } from '@refinery/sandbox';" + use('run')));
});

describe('libs never import apps', () => {
  const apps = ['@refinery/api', '@refinery/cli', '@refinery/web', '@refinery/workers', '@refinery/projector-app'];
  const libs = ['libs/domain', 'libs/weak-supervision', 'libs/events', 'libs/importing', 'libs/projector', 'libs/read-models', 'libs/sandbox'];
  for (const lib of libs) {
    it(`${lib} may not import any app (not even types)`, async () => {
      for (const app of apps) {
        await assertBanned(`${lib}/src/x.ts`, `import { x } from '${app}';` + use('x'), { mentions: 'libs-never-import-apps' });
        await assertBanned(`${lib}/src/x.ts`, `import type { X } from '${app}';\nexport type Y = X;`);
      }
    });
  }
  it('not by relative path either', () =>
    assertBanned('libs/events/src/x.ts', "import { start } from '../../../apps/api/src/main.ts';" + use('start'), {
      rule: 'refinery/no-relative-imports-across-projects',
      mentions: '@refinery/api',
    }));
});

describe('scope:web (apps/web) bundles no backend code', () => {
  const file = 'apps/web/src/stores/x.ts';
  for (const [spec, code] of [
    ['pg', "import pg from 'pg';" + use('pg')],
    ['express', "import express from 'express';" + use('express')],
    ['node:fs', "import { readFileSync } from 'node:fs';" + use('readFileSync')],
    ['path (bare Node built-in)', "import path from 'path';" + use('path')],
    ['isolated-vm', "import ivm from 'isolated-vm';" + use('ivm')],
    ['@electric-sql/pglite', "import { PGlite } from '@electric-sql/pglite';" + use('PGlite')],
    ['kafkajs', "import { Kafka } from 'kafkajs';" + use('Kafka')],
    ['@refinery/events (runtime)', "import { START } from '@refinery/events';" + use('START')],
    ['@refinery/api (runtime)', "import { startApiServer } from '@refinery/api';" + use('startApiServer')],
    ['@refinery/importing (runtime)', "import { analyzeImport } from '@refinery/importing';" + use('analyzeImport')],
  ]) {
    it(`apps/web/src may not import ${spec}`, () => assertBanned(file, code));
  }

  it('allows `import type` from workspace packages, and its own frameworks', async () => {
    await assertAllowed(file, "import type { Recorded } from '@refinery/events';\nexport type R = Recorded;");
    await assertAllowed(file, "import { ref } from 'vue';\nimport { defineStore } from 'pinia';\nimport { useRouter } from 'vue-router';\nexport const f = [ref, defineStore, useRouter];");
  });

  it('applies to <script lang="ts"> in .vue files', async () => {
    const sfc = (script) => `<script setup lang="ts">\n${script}\n</script>\n\n<template>\n  <div>{{ x }}</div>\n</template>\n`;
    await assertBanned('apps/web/src/components/X.vue', sfc("import pg from 'pg';\nconst x = pg;"));
    await assertBanned('apps/web/src/components/X.vue', sfc("import { START } from '@refinery/events';\nconst x = START;"));
    await assertAllowed('apps/web/src/components/X.vue', sfc("import type { Recorded } from '@refinery/events';\nimport { ref } from 'vue';\nconst x = ref<Recorded | null>(null);"));
  });

  it('e2e/ and vite.config.ts run in Node: Node built-ins allowed, backend packages still not', async () => {
    await assertAllowed('apps/web/e2e/x.ts', "import { spawn } from 'node:child_process';\nimport path from 'node:path';\nexport const f = [spawn, path];");
    await assertAllowed('apps/web/vite.config.ts', "import { fileURLToPath } from 'node:url';" + use('fileURLToPath'));
    await assertBanned('apps/web/e2e/x.ts', "import { startApiServer } from '@refinery/api';" + use('startApiServer'));
    await assertBanned('apps/web/e2e/x.ts', "import pg from 'pg';" + use('pg'));
  });
});

describe('type:util and type:data-access', () => {
  it('type:util imports no framework, no database and no non-util lib', async () => {
    await assertBanned('libs/importing/src/x.ts', "import express from 'express';" + use('express'), { mentions: 'util-is-generic' });
    await assertBanned('libs/importing/src/x.ts', "import { ref } from 'vue';" + use('ref'));
    await assertBanned('libs/importing/src/x.ts', "import pg from 'pg';" + use('pg'));
    await assertBanned('libs/importing/src/x.ts', "import { START } from '@refinery/events';" + use('START'));
    await assertAllowed('libs/importing/src/x.ts', "import { Parser } from 'csv-parse';\nimport { isUtf8 } from 'node:buffer';\nexport const f = [Parser, isUtf8];");
    await assertAllowed('libs/sandbox/src/x.ts', "import ivm from 'isolated-vm';" + use('ivm'));
  });

  it('type:data-access may use databases but not HTTP/UI frameworks', async () => {
    await assertAllowed('libs/events/src/x.ts', "import pg from 'pg';\nimport { PGlite } from '@electric-sql/pglite';\nexport const f = [pg, PGlite];");
    await assertAllowed('libs/read-models/src/x.ts', "import { START } from '@refinery/events';\nimport { ProjectionRunner } from '@refinery/projector';\nexport const f = [START, ProjectionRunner];");
    await assertBanned('libs/projector/src/x.ts', "import express from 'express';" + use('express'));
    await assertBanned('libs/projector/src/x.ts', "import { ref } from 'vue';" + use('ref'));
  });

  it('scope:shared libs may not depend on scope:server libs', () =>
    assertBanned('libs/events/src/x.ts', "import { run } from '@refinery/sandbox';" + use('run'), { mentions: 'shared-depends-on-shared' }));
});

describe('apps and cross-project rules', () => {
  it('server apps may use express and server/shared libs, never the web app', async () => {
    await assertAllowed('apps/api/src/x.ts', "import express from 'express';\nimport { START } from '@refinery/events';\nexport const f = [express, START];");
    await assertBanned('apps/api/src/x.ts', "import { x } from '@refinery/web';" + use('x'));
  });

  it('no project reaches into another by relative path', async () => {
    const rule = 'refinery/no-relative-imports-across-projects';
    await assertBanned('libs/domain/src/x.ts', "import { START } from '../../events/src/checkpoint.ts';" + use('START'), { rule, mentions: "'@refinery/events'" });
    await assertBanned('apps/api/src/x.ts', "import { x } from '../../../libs/events/src/index.ts';" + use('x'), { rule });
    await assertBanned('bench/src/x.ts', "export type T = typeof import('../../libs/events/src/index.ts');", { rule });
    await assertBanned('apps/web/src/x.ts', "export const load = () => import('../../api/src/main.ts');", { rule });
    await assertAllowed('libs/events/src/postgres/x.ts', "import type { SqlExecutor } from '../sql.ts';\nexport type S = SqlExecutor;");
  });

  it('no project imports package internals (@refinery/<pkg>/src/...)', async () => {
    await assertBanned('libs/projector/src/x.ts', "import type { SqlExecutor } from '@refinery/events/src/sql.ts';\nexport type S = SqlExecutor;", { mentions: 'no-package-internals' });
    await assertBanned('apps/api/src/x.ts', "import { x } from '@refinery/events/src/index.ts';" + use('x'));
  });

  it('test-only entry points are for test files only', async () => {
    await assertBanned('libs/projector/src/runner.ts', "import { testBackends } from '@refinery/events/testing';" + use('testBackends'), { mentions: 'testing-entry-points-are-test-only' });
    await assertAllowed('libs/projector/src/runner.int.spec.ts', "import { testBackends } from '@refinery/events/testing';" + use('testBackends'));
  });
});

describe('constraint table covers the workspace', () => {
  it('every workspace project has exactly one known scope:* tag and one known type:* tag', () => {
    const known = new Set(constraints.flatMap((c) => [...c.source, ...(c.onlyProjects?.anyTag ?? []), ...(c.typeOnlyProjects?.anyTag ?? []), ...(c.denyProjects?.anyTag ?? [])]));
    const projects = readWorkspace(workspaceRoot);
    assert.ok(projects.length >= 10, `found only ${projects.length} projects`);
    for (const p of projects) {
      for (const kind of ['scope:', 'type:']) {
        const tags = p.tags.filter((t) => t.startsWith(kind));
        assert.equal(tags.length, 1, `${p.name} (${p.root}) needs exactly one ${kind}* tag, has ${JSON.stringify(p.tags)}`);
        assert.ok(known.has(tags[0]), `${p.name}: tag ${tags[0]} is not mentioned in tools/eslint/constraints.js`);
      }
    }
  });
});

describe('house rules', () => {
  it('no-unused-expressions still catches dead expressions but allows comma sequences of side effects', async () => {
    const [result] = await eslint.lintText('let a = 0;\nlet b = 0;\na === b;\n(a += 1), b++;\na, b;\nexport {};\n', { filePath: 'libs/weak-supervision/src/x.ts' });
    const lines = result.messages.filter((m) => m.ruleId === 'refinery/no-unused-expressions').map((m) => m.line);
    assert.deepEqual(lines, [3, 5]);
  });

  it('forbids focused tests', async () => {
    const [result] = await eslint.lintText("import { describe, it } from 'vitest';\ndescribe.only('x', () => { it.only('y', () => {}); });\n", { filePath: 'libs/importing/src/x.unit.spec.ts' });
    assert.equal(result.messages.filter((m) => m.ruleId === 'no-restricted-properties').length, 2);
  });

  it('forbids explicit any', async () => {
    const [result] = await eslint.lintText('export const f = (x: any) => x;\n', { filePath: 'libs/events/src/x.ts' });
    assert.ok(result.messages.some((m) => m.ruleId === '@typescript-eslint/no-explicit-any' && m.severity === 2));
  });
});
