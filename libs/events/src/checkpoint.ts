/**
 * Global log positions.
 *
 * A position is the pair (writing transaction id, sequence number), printed as "<tx>/<seq>".
 * Sequence numbers alone are not safe with concurrent writers: a transaction that took a
 * lower number may commit after one that took a higher number, and a reader that already
 * moved past the higher number would skip it. Readers therefore only return events whose
 * transaction is older than the oldest transaction still running (snapshot xmin), ordered by
 * the pair; once xmin has passed a transaction id, no new event can appear below it.
 */
export interface LogPosition {
  readonly tx: bigint;
  readonly seq: bigint;
}

export const START: LogPosition = { tx: 0n, seq: 0n };

export function formatPosition(p: LogPosition): string {
  return `${p.tx}/${p.seq}`;
}

const POSITION_PATTERN = /^(\d{1,20})\/(\d{1,20})$/;

export function parsePosition(text: string): LogPosition {
  const m = POSITION_PATTERN.exec(text);
  if (!m) throw new InvalidPositionError(text);
  return { tx: BigInt(m[1]!), seq: BigInt(m[2]!) };
}

export function isPosition(text: string): boolean {
  return POSITION_PATTERN.test(text);
}

export class InvalidPositionError extends Error {
  constructor(readonly value: string) {
    super(`"${value}" is not a log position; expected "<transaction>/<sequence>" as returned by a command`);
    this.name = 'InvalidPositionError';
  }
}

export function comparePositions(a: LogPosition, b: LogPosition): number {
  if (a.tx !== b.tx) return a.tx < b.tx ? -1 : 1;
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  return 0;
}

export function maxPosition(a: LogPosition, b: LogPosition): LogPosition {
  return comparePositions(a, b) >= 0 ? a : b;
}

/** True when a reader at `checkpoint` has seen the event at `target`. */
export function hasReached(checkpoint: string, target: string): boolean {
  return comparePositions(parsePosition(checkpoint), parsePosition(target)) >= 0;
}
