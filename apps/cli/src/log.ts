import { createReadStream, createWriteStream, existsSync, renameSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { exportLog, importLog, productProjections, rebuildReadModels, waitForHead } from '@refinery/audit';
import { loadConfig, openPlatform } from '@refinery/runtime';
import { parseOptions, UsageError } from './audit-args.ts';

export const LOG_USAGE = `refinery log export <file> [--project <id>]
  write the log (or one project's events with the account events) as JSONL with its artifacts and
  a SHA-256 chain; check it with \`refinery verify <file>\`
refinery log import <file>
  load a verified export into an empty log (DATA_DIR or DATABASE_URL), then build every read model`;

/** The lines of a file, streamed (a log export may be larger than memory). */
export function fileLines(file: string): () => AsyncIterable<string> {
  return () => createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function log(argv: readonly string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'export') return logExport(rest);
  if (sub === 'import') return logImport(rest);
  throw new UsageError(sub ? `unknown log command "${sub}"` : 'log needs a command: export or import');
}

async function logExport(argv: readonly string[]): Promise<void> {
  const { positional, options } = parseOptions(argv, ['project']);
  const [file, extra] = positional;
  if (!file || extra) throw new UsageError('log export needs exactly one file name');
  const projectId = options.get('project')?.[0];
  if (projectId !== undefined && !UUID.test(projectId)) throw new UsageError(`--project "${projectId}" is not a project id (a uuid)`);
  const platform = await openPlatform(loadConfig());
  // Written beside the target and renamed at the end: a failed export never leaves a file that looks whole.
  const partial = `${file}.partial`;
  const out = createWriteStream(partial);
  try {
    if (projectId !== undefined && (await platform.store.streamRevision(`project:${projectId}`)) === undefined) {
      throw new UsageError(`project ${projectId} does not exist in this log`);
    }
    let lastNote = Date.now();
    const result = await exportLog(
      platform,
      async (chunk) => {
        if (!out.write(chunk)) await once(out, 'drain');
      },
      {
        ...(projectId ? { projectId } : {}),
        onProgress: (n) => {
          if (Date.now() - lastNote > 2000) {
            lastNote = Date.now();
            console.error(`  ${n} events …`);
          }
        },
      },
    );
    out.end();
    await once(out, 'finish');
    renameSync(partial, file);
    console.log(`wrote ${file}: ${result.events} events, ${result.artifacts} artifacts, up to position ${result.head}; last hash ${result.lastHash}`);
  } catch (err) {
    out.destroy();
    rmSync(partial, { force: true });
    throw err;
  } finally {
    await platform.close();
  }
}

async function logImport(argv: readonly string[]): Promise<void> {
  const { positional } = parseOptions(argv, []);
  const [file, extra] = positional;
  if (!file || extra) throw new UsageError('log import needs exactly one file name');
  if (!existsSync(file)) throw new UsageError(`no file ${file}`);
  const platform = await openPlatform(loadConfig());
  try {
    console.error(`verifying and importing ${file} …`);
    const result = await importLog(platform.db, fileLines(file), { onProgress: (n) => n % 100_000 === 0 && console.error(`  ${n} events …`) });
    console.log(`imported ${result.events} events and ${result.artifacts} artifacts`);
    if (!(await waitForHead(platform.store, result.lastPosition))) console.error('the log head has not reached the imported events yet (a long transaction elsewhere on the server?); the projector will catch up');
    console.error('building the read models …');
    const rebuilt = await rebuildReadModels(platform, 'all', { projections: productProjections });
    console.log(`read models built (${rebuilt.length}); start the product with \`refinery start\``);
  } finally {
    await platform.close();
  }
}
