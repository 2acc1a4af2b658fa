// Bundles the CLI (with the workspace libraries it uses) into one ESM file; npm packages stay external.
import { copyFileSync, mkdirSync } from 'node:fs';
import { build } from 'esbuild';

await build({
  entryPoints: ['src/main.ts'],
  outfile: 'dist/refinery.mjs',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  logLevel: 'warning',
  plugins: [
    {
      name: 'externalize-npm-packages',
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('@refinery/') ? undefined : { external: true }));
      },
    },
  ],
});

// Files libraries read beside their own module at run time (new URL('./…', import.meta.url)).
mkdirSync('dist/python', { recursive: true });
copyFileSync('../../libs/sandbox/src/python/worker.py', 'dist/python/worker.py');
