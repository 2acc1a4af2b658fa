import { productProjections, rebuildReadModels, type RebuildProgress } from '@refinery/audit';
import { loadConfig, openPlatform } from '@refinery/runtime';
import { parseOptions, UsageError } from './audit-args.ts';

export const REPLAY_USAGE = `refinery replay [--projection <name>]... | --all
  rebuild read models from the log, with progress (all of them by default). Stop the embedded
  product first (one process owns ./data); against DATABASE_URL a running projector rebuilds
  the read models it holds and this command waits for them.`;

function bar(p: RebuildProgress): string {
  return `${p.name.padEnd(20)} ${p.done ? 'done' : `${(p.fraction * 100).toFixed(1).padStart(5)}%`}`;
}

export async function replay(argv: readonly string[]): Promise<void> {
  const { positional, options, flags } = parseOptions(argv, ['projection'], ['all']);
  if (positional.length) throw new UsageError(`unexpected argument "${positional[0]}"`);
  const names = options.get('projection') ?? [];
  if (names.length && flags.has('all')) throw new UsageError('give --projection or --all, not both');
  const known = productProjections.map((p) => p.name);
  for (const n of names) if (!known.includes(n)) throw new UsageError(`no read model named "${n}"; the read models are: ${known.join(', ')}`);
  const platform = await openPlatform(loadConfig());
  try {
    const started = Date.now();
    console.error(`rebuilding ${names.length ? names.join(', ') : `every read model (${known.length})`} from the log …`);
    const results = await rebuildReadModels(platform, names.length ? names : 'all', {
      onProgress: (progress) => console.error(progress.map(bar).join('  |  ')),
      progressEveryMs: 2000,
    });
    for (const r of results) console.log(`${r.name}: rebuilt in ${r.seconds.toFixed(1)} s`);
    console.log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await platform.close();
  }
}
