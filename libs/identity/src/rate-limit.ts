/**
 * Counts failures per key (e-mail + client address for sign-in) in a sliding window and blocks
 * the key once it reaches the limit, until its oldest failure leaves the window. In memory, per
 * API process: with N API processes an attacker gets at most N × limit guesses per window.
 */
export class FailureRateLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    readonly limit = 5,
    readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
    /** most keys kept; the oldest are dropped beyond it (bounded memory under a spray of keys) */
    private readonly maxKeys = 100_000,
  ) {}

  private recent(key: string, t: number): number[] {
    const list = (this.failures.get(key) ?? []).filter((at) => t - at < this.windowMs);
    if (list.length) this.failures.set(key, list);
    else this.failures.delete(key);
    return list;
  }

  /** Seconds to wait before the next attempt, or 0 when the key may try now. */
  retryAfterSeconds(key: string): number {
    const t = this.now();
    const list = this.recent(key, t);
    if (list.length < this.limit) return 0;
    const oldest = list[list.length - this.limit]!;
    return Math.max(1, Math.ceil((oldest + this.windowMs - t) / 1000));
  }

  fail(key: string): void {
    const t = this.now();
    const list = this.recent(key, t);
    list.push(t);
    this.failures.delete(key); // re-insert: Map order is then least recently failed first
    this.failures.set(key, list);
    while (this.failures.size > this.maxKeys) {
      const first = this.failures.keys().next();
      if (first.done) break;
      this.failures.delete(first.value);
    }
  }

  reset(key: string): void {
    this.failures.delete(key);
  }
}
