import { existsSync } from 'node:fs';
import { verifyLog } from '@refinery/audit';
import { UsageError } from './audit-args.ts';
import { fileLines } from './log.ts';

export const VERIFY_USAGE = `refinery verify <file>
  check a log export's SHA-256 chain; reports the first altered or missing event (line, event id)
  and exits with 1 when the file does not verify`;

export async function verify(argv: readonly string[]): Promise<void> {
  const [file, extra] = argv;
  if (!file || extra) throw new UsageError('verify needs exactly one file name');
  if (!existsSync(file)) throw new UsageError(`no file ${file}`);
  const report = await verifyLog(fileLines(file)());
  if (report.ok) {
    console.log(`${file}: verified — ${report.events} events, ${report.artifacts} artifacts${report.header?.projectId ? `, project ${report.header.projectId}` : ''}, chain intact`);
    return;
  }
  const p = report.problem!;
  console.error(`${file}: NOT VERIFIED — line ${p.line}${p.eventId ? `, event ${p.eventId}` : ''}: ${p.reason}`);
  console.error(`(${report.events} events before it verified)`);
  process.exitCode = 1;
}
