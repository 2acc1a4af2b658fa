/**
 * The small SQL surface the PostgreSQL backend, artifact store and projections are written
 * against, so the same code runs on PGlite (embedded) and on a PostgreSQL server (`pg`).
 * Bigint columns should be cast to text in queries: the two drivers parse int8 differently.
 */
export interface SqlExecutor {
  readonly dialect: 'pglite' | 'pg';
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<{ rows: R[]; rowCount: number }>;
  /** several statements, no parameters */
  exec(sql: string): Promise<void>;
  /** runs `work` in a transaction; nested calls join the outer transaction */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /**
   * `copy <table> (<columns>) from stdin` with `data` in COPY's text format (one row per line,
   * tab-separated, see `copyText` in @refinery/projector): the cheapest bulk load on both
   * backends. A wrapper of an executor must pass it on.
   */
  copyFrom(sql: string, data: Iterable<string> | AsyncIterable<string>): Promise<void>;
}

export interface SqlDatabase extends SqlExecutor {
  /** calls `onNotify` on NOTIFY to `channel`, from any process; returns an unlisten function */
  listen(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
