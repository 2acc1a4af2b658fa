// ESLint flat config for the whole workspace. Run `npx eslint .` from the repository root.
// Module boundaries: the rules are in tools/eslint/constraints.js (one commented table), generated per project
// folder by tools/eslint/boundaries.js and tested by `node --test tools/eslint/`.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'eslint/config';
import { builtinRules } from 'eslint/use-at-your-own-risk';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import pluginVue from 'eslint-plugin-vue';
import { boundaryConfigs } from './tools/eslint/boundaries.js';
import refineryPlugin from './tools/eslint/plugin.js';

const workspaceRoot = fileURLToPath(new URL('.', import.meta.url));

// ESLint's own "recommended" set (identical to @eslint/js's, which is not a declared dependency here).
const eslintRecommended = Object.fromEntries(
  [...builtinRules].filter(([, rule]) => rule.meta?.docs?.recommended && !rule.meta.deprecated).map(([name]) => [name, 'error']),
);

export default defineConfig(
  {
    name: 'refinery/ignores',
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '.nx/**',
      'test-results/**',
      'data/**',
      '**/*.d.ts',
      '**/coverage/**',
      '.vitest-*/**',
    ],
  },
  {
    name: 'refinery/linter-options',
    linterOptions: { reportUnusedDisableDirectives: 'warn' },
    plugins: { '@typescript-eslint': tseslint.plugin, refinery: refineryPlugin },
  },

  // JavaScript and TypeScript everywhere (syntax-only rules: no type information, to stay fast).
  { name: 'eslint/recommended', files: ['**/*.{js,mjs,cjs,ts,mts,cts,vue}'], rules: eslintRecommended },
  // (The base entry installs the TS parser for .ts files only; .vue files keep vue-eslint-parser, see below.)
  ...tseslint.configs.recommended.map((c) => ({
    ...c,
    files: c.name === 'typescript-eslint/base' ? ['**/*.{ts,mts,cts}'] : ['**/*.{ts,mts,cts,vue}'],
  })),

  // Vue single-file components (apps/web), <script lang="ts"> parsed by typescript-eslint.
  ...pluginVue.configs['flat/recommended'].map((c) => ({ ...c, files: ['apps/web/**/*.vue'] })),
  {
    name: 'refinery/vue-typescript',
    files: ['apps/web/**/*.vue'],
    languageOptions: {
      parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.vue'], sourceType: 'module' },
    },
  },

  {
    name: 'refinery/vue-house-style',
    files: ['apps/web/**/*.vue'],
    rules: {
      // Formatting only; the components deliberately keep short attribute lists and short elements on one line.
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
    },
  },

  // Runtime globals: Node for server code, tooling and tests; the browser for the web app's source.
  {
    name: 'refinery/node-globals',
    files: ['**/*.{js,mjs,cjs,ts,mts,cts}'],
    languageOptions: { ecmaVersion: 'latest', sourceType: 'module', globals: { ...globals.node } },
  },
  {
    name: 'refinery/browser-globals',
    files: ['apps/web/src/**/*.{ts,vue}'],
    languageOptions: { globals: { ...globals.browser } },
  },

  // House rules.
  {
    name: 'refinery/rules-typescript',
    files: ['**/*.{ts,mts,cts,vue}'],
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      // Same rule, but `(sum += x), n++` style sequences of side effects are allowed (see tools/eslint/plugin.js).
      '@typescript-eslint/no-unused-expressions': 'off',
      'refinery/no-unused-expressions': [
        'error',
        { allowShortCircuit: false, allowTernary: false, allowTaggedTemplates: false },
      ],
    },
  },
  {
    name: 'refinery/rules-all-files',
    files: ['**/*.{js,mjs,cjs,ts,mts,cts,vue}'],
    rules: {
      // Focused tests silently skip the rest of the suite in CI.
      'no-restricted-properties': [
        'error',
        ...['describe', 'it', 'test', 'suite', 'bench'].map((object) => ({
          object,
          property: 'only',
          message: 'Do not commit focused tests (.only): they silently skip the rest of the suite.',
        })),
      ],
      'no-console': ['warn', { allow: ['warn', 'error'] }],
    },
  },
  {
    name: 'refinery/js-unused-vars',
    files: ['**/*.{js,mjs,cjs}'],
    rules: {
      'no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
    },
  },
  {
    // Command-line tools, benchmarks and repository tooling talk to the terminal;
    // server processes' entry points (apps/*/src/main.ts) print where they listen.
    name: 'refinery/console-allowed',
    files: [
      'apps/cli/**',
      'bench/**',
      '**/bench/**',
      '**/*.bench.ts',
      'tools/**',
      'scripts/**',
      '**/e2e/**',
      '*.config.{js,ts}',
      'apps/*/src/main.ts',
      'apps/*/build.mjs',
    ],
    rules: { 'no-console': 'off' },
  },

  {
    // zod route specs use `z.ZodObject<{}>` for "no params/query": `{}` is the empty shape there, not "any value".
    name: 'refinery/api-zod-empty-shapes',
    files: ['apps/api/src/http/**/*.ts'],
    rules: { '@typescript-eslint/no-empty-object-type': ['error', { allowObjectTypes: 'always' }] },
  },

  // Module boundaries (see tools/eslint/constraints.js).
  ...boundaryConfigs({ workspaceRoot }),
);
