/** One JSON object per line on stdout: the machine-readable record of a run. */
export function emitJson(line: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(line, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
}

/** Progress and notes go to stderr so stdout stays JSON lines + the final table. */
export function note(message: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

export function markdownTable(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}
