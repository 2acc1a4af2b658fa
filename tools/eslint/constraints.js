// Module-boundary constraints for the Refinery workspace: the one place to read (and change) them.
//
// Each workspace project declares tags in its package.json (`"nx": { "tags": [...] }`):
//   scope:shared | scope:server | scope:web | scope:bench   where the code may run
//   type:domain | type:util | type:data-access | type:app   which layer it is
// `tools/eslint/boundaries.js` reads those tags and turns this table into per-folder
// `@typescript-eslint/no-restricted-imports` rules (plus the same bans for `import()` / `require()`
// and a ban on relative imports that leave the project folder).
//
// A constraint applies to every project carrying ANY tag in `source` (an empty list = every project).
// It may say:
//   onlyProjects     { anyTag, pure }   other @refinery/* packages may be imported (at runtime) only if they
//                                       carry one of `anyTag` (and, with `pure: true`, their whole workspace
//                                       dependency closure declares no package banned by this constraint)
//   typeOnlyProjects { anyTag }         packages that fail `onlyProjects` but carry one of these tags may still
//                                       be used with `import type` (erased at compile time: no runtime coupling)
//   denyProjects     { anyTag }         packages carrying one of these tags may not be imported at all
//   bannedPackages   [spec]             npm packages / Node built-ins that may not be imported; a spec is an
//                                       exact name ('pg', also bans 'pg/…'), a prefix glob ('y-*', '@electric-sql/*')
//                                       or a regular expression (/^node:/)
//   exceptIn         [glob]             files (globs relative to the project folder) the constraint does not cover
// `why` becomes the lint message, so say what to do instead.
// When several constraints cover the same import, the strictest wins (ban > type-only > allowed).

import { builtinModules } from 'node:module';

/** Database drivers and embedded databases: only `type:data-access` libs and apps talk to a database. */
const DATABASE = ['pg', 'pg-*', 'postgres', '@electric-sql/*', 'kafkajs'];
/** Network servers/clients and real-time collaboration transports. */
const NETWORK = ['express', 'ws', 'yjs', 'y-*', '@y/*'];
/** UI frameworks: only apps/web renders UI. */
const UI = ['vue', 'pinia', 'vue-router', '@vue/*'];
/** Native code execution sandbox: server only (native addon, spawns isolates). */
const SANDBOX = ['isolated-vm'];
/** Node built-ins that do I/O or spawn processes (with and without the `node:` prefix). */
const NODE_IO = [
  'fs', 'net', 'http', 'https', 'http2', 'child_process', 'dgram', 'dns', 'tls', 'cluster',
  'worker_threads', 'readline', 'repl', 'inspector', 'vm',
].flatMap((m) => [m, `node:${m}`]);
/** Every Node built-in (for browser code). */
const NODE_ALL = [/^node:/, ...builtinModules.filter((m) => !m.startsWith('_'))];

/** Files that are tests (they may use test-only entry points such as `@refinery/events/testing`). */
export const TEST_FILES = ['**/*.spec.ts', '**/*.test.ts', '**/*.spec.mts', '**/*.test.mts', '**/test/**', '**/e2e/**'];

export const constraints = [
  // ---- every project -----------------------------------------------------------------------------
  {
    name: 'testing-entry-points-are-test-only',
    source: [],
    // `@refinery/x/testing` holds fixtures that open real databases; production code must never ship them.
    why: 'Test-only entry points (`@refinery/<pkg>/testing`) may be imported from test files (*.spec.ts, test/, e2e/) only.',
    bannedPackages: [/^@refinery\/[^/]+\/testing(\/|$)/],
    exceptIn: TEST_FILES,
  },
  {
    name: 'no-package-internals',
    source: [],
    // A package's public surface is its package.json "exports"; reaching into src/ couples to file layout.
    why: 'Import the package entry (`@refinery/<pkg>`), not its internals (`@refinery/<pkg>/src/...`); export what you need from its index.ts.',
    bannedPackages: [/^@refinery\/[^/]+\/src(\/|$)/],
  },

  // ---- scopes: where code runs ------------------------------------------------------------------
  {
    name: 'shared-depends-on-shared',
    source: ['scope:shared'],
    // scope:shared libs run in every server process (and could run elsewhere); a server-only dependency
    // (e.g. the isolated-vm sandbox) would drag native/server code into all of them.
    why: 'scope:shared projects may depend only on other scope:shared projects.',
    onlyProjects: { anyTag: ['scope:shared'] },
  },
  {
    name: 'server-depends-on-shared-or-server',
    source: ['scope:server'],
    // Server code never depends on the browser app or the benchmarks.
    why: 'scope:server projects may depend only on scope:shared and scope:server projects.',
    onlyProjects: { anyTag: ['scope:shared', 'scope:server'] },
  },
  {
    name: 'bench-depends-on-non-web',
    source: ['scope:bench'],
    // Benchmarks drive server-side packages directly; the browser app is measured through HTTP, not imported.
    why: 'scope:bench may depend on scope:shared, scope:server and scope:bench projects, never on the web app.',
    onlyProjects: { anyTag: ['scope:shared', 'scope:server', 'scope:bench'] },
  },
  {
    name: 'web-imports-no-backend',
    source: ['scope:web'],
    // The browser bundle must not contain server code: talk to the API over HTTP (src/api/client.ts).
    // Types are erased at build time, so `import type` from any workspace package is fine.
    why: 'apps/web must not bundle backend code: use `import type` for shared types and the HTTP API for behaviour.',
    onlyProjects: { anyTag: [] },
    typeOnlyProjects: { anyTag: ['scope:shared', 'scope:server', 'scope:bench', 'scope:web'] },
    bannedPackages: [...DATABASE, ...SANDBOX, 'express', 'ws'],
  },
  {
    name: 'web-src-runs-in-the-browser',
    source: ['scope:web'],
    // Browser code has no Node built-ins. e2e/ (Playwright driver) and vite.config.ts run in Node and are exempt.
    why: 'apps/web/src runs in the browser: Node built-ins are not available there.',
    bannedPackages: NODE_ALL,
    exceptIn: ['e2e/**', 'vite.config.ts', '*.config.ts'],
  },

  // ---- types: layers ----------------------------------------------------------------------------
  {
    name: 'libs-never-import-apps',
    source: ['type:domain', 'type:util', 'type:data-access'],
    // Libraries sit below applications; an app is a composition root, never a dependency (not even for types:
    // a lib that needs an app's types has its layering upside down).
    why: 'Libraries must not import applications (@refinery/api, cli, web, workers, projector-app): move the shared code into a lib.',
    denyProjects: { anyTag: ['type:app'] },
  },
  {
    name: 'domain-is-pure',
    source: ['type:domain'],
    // Domain logic (decisions, invariants, label models) must be deterministic and testable without I/O.
    // Event *types* from @refinery/events are fine (`import type`), but its runtime entry opens databases.
    why:
      'type:domain code must stay pure: no database, network, UI framework, sandbox or Node I/O; ' +
      'it may import only pure type:domain/type:util libs, and `import type` from data-access libs. ' +
      'Do the I/O in a data-access lib or an app and pass the data in.',
    onlyProjects: { anyTag: ['type:domain', 'type:util'], pure: true },
    typeOnlyProjects: { anyTag: ['type:data-access'] },
    bannedPackages: [...DATABASE, ...NETWORK, ...UI, ...SANDBOX, ...NODE_IO],
  },
  {
    name: 'util-is-generic',
    source: ['type:util'],
    // Utilities are leaf helpers reusable by every layer: no framework, no database, no app knowledge.
    why:
      'type:util libs must not use frameworks (express, vue) or databases, and may depend only on other type:util libs; ' +
      'anything that needs those belongs in a data-access lib or an app.',
    onlyProjects: { anyTag: ['type:util'] },
    bannedPackages: [...DATABASE, 'express', ...UI],
  },
  {
    name: 'data-access-has-no-ui-or-http-layer',
    source: ['type:data-access'],
    // Storage/projection code is used by several server processes; HTTP routing (express) and UI belong to apps.
    why:
      'type:data-access libs must not use HTTP or UI frameworks (express, vue, pinia) and may depend only on ' +
      'data-access, domain and util libs.',
    onlyProjects: { anyTag: ['type:data-access', 'type:domain', 'type:util'] },
    bannedPackages: ['express', ...UI],
  },
];
