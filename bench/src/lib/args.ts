/** `--key value [value...]` and bare `--flag` arguments. */
export function parseArgs(argv: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let key = '';
  for (const a of argv) {
    if (a.startsWith('--')) {
      key = a.slice(2);
      if (!out.has(key)) out.set(key, []);
    } else if (key) out.get(key)!.push(...a.split(',').filter(Boolean));
  }
  return out;
}

export function argList(args: Map<string, string[]>, key: string, fallback: readonly string[]): string[] {
  const v = args.get(key);
  return v && v.length ? v : [...fallback];
}

export function argNumbers(args: Map<string, string[]>, key: string, fallback: readonly number[]): number[] {
  return argList(args, key, fallback.map(String)).map((s) => {
    const n = Number(s.replace(/_/g, '').replace(/k$/i, '000'));
    if (!Number.isFinite(n)) throw new Error(`--${key}: "${s}" is not a number`);
    return n;
  });
}

export function argNumber(args: Map<string, string[]>, key: string, fallback: number): number {
  return argNumbers(args, key, [fallback])[0]!;
}
