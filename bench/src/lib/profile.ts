import type { SqlDatabase, SqlExecutor } from '@refinery/events';

export interface StatementTiming {
  statement: string;
  calls: number;
  totalMs: number;
}

/**
 * Wraps a database so every query is timed, grouped by a short label of its SQL. The time of
 * a transaction outside its queries (pool checkout, BEGIN, COMMIT incl. WAL flush) is booked
 * as "(begin+commit)". Only for profiling runs: it adds a little overhead.
 */
export class QueryProfiler {
  private readonly timings = new Map<string, StatementTiming>();

  wrap(db: SqlDatabase): SqlDatabase {
    const inner = this.wrapExecutor(db, false);
    return { ...inner, listen: (c, f) => db.listen(c, f), close: () => db.close() };
  }

  private wrapExecutor(ex: SqlExecutor, inTx: boolean): SqlExecutor {
    const self: SqlExecutor = {
      dialect: ex.dialect,
      query: async <R>(sql: string, params?: readonly unknown[]) => {
        const t0 = performance.now();
        try {
          return await ex.query<R>(sql, params);
        } finally {
          this.add(label(sql), performance.now() - t0);
        }
      },
      exec: async (sql: string) => {
        const t0 = performance.now();
        try {
          await ex.exec(sql);
        } finally {
          this.add(label(sql), performance.now() - t0);
        }
      },
      copyFrom: async (sql: string, data: Iterable<string> | AsyncIterable<string>) => {
        const t0 = performance.now();
        try {
          await ex.copyFrom(sql, data);
        } finally {
          this.add(label(sql), performance.now() - t0);
        }
      },
      transaction: async <T>(work: (tx: SqlExecutor) => Promise<T>) => {
        if (inTx) return work(self);
        const t0 = performance.now();
        let innerMs = 0;
        try {
          return await ex.transaction((tx) => {
            const wrapped = this.wrapExecutor(tx, true);
            const timedQuery = wrapped.query;
            return work({
              ...wrapped,
              query: async <R>(sql: string, params?: readonly unknown[]) => {
                const q0 = performance.now();
                try {
                  return await timedQuery<R>(sql, params);
                } finally {
                  innerMs += performance.now() - q0;
                }
              },
            });
          });
        } finally {
          this.add('(transaction overhead: checkout + begin + commit)', performance.now() - t0 - innerMs);
        }
      },
    };
    return self;
  }

  private add(statement: string, ms: number): void {
    const t = this.timings.get(statement) ?? { statement, calls: 0, totalMs: 0 };
    t.calls++;
    t.totalMs += ms;
    this.timings.set(statement, t);
  }

  report(): StatementTiming[] {
    return [...this.timings.values()].sort((a, b) => b.totalMs - a.totalMs);
  }

  reset(): void {
    this.timings.clear();
  }
}

function label(sql: string): string {
  const s = sql.replace(/\s+/g, ' ').trim();
  if (/^select id::text, stream_id, revision::text, type, tx_id/.test(s)) return 'idempotency lookup (select … where id in …)';
  if (/for update$/.test(s) && s.includes('from streams')) return 'lock stream (select … for update)';
  if (s.startsWith('insert into events')) return 'insert events (jsonb_to_recordset)';
  if (s.startsWith('insert into streams')) return 'insert stream row';
  if (s.startsWith('update streams')) return 'update stream revision';
  if (s.includes('pg_notify')) return 'pg_notify';
  if (s.includes('pg_snapshot_xmin')) return 'snapshot xmin';
  if (s.startsWith('select id::text, stream_id, revision::text, tx_id')) return 'readAll page';
  if (s.startsWith('select tx_id::text as tx, position::text as seq from events where tx_id <')) return 'last event below xmin';
  if (s.includes('from projection_checkpoints') && s.includes('for update')) return 'lock checkpoint row';
  if (s.startsWith('update projection_checkpoints set checkpoint')) return 'write checkpoint';
  return s.slice(0, 60);
}

/**
 * Counts the SQL statements the product sends (a transaction's BEGIN/COMMIT count as one); with
 * `profile`, also times each (as seen by the client), keyed by its first words and the product
 * function that sent it.
 */
export function countStatements(db: SqlDatabase, profile: boolean): { count: number; byText: Map<string, { n: number; ms: number }> } {
  const counter = { count: 0, byText: new Map<string, { n: number; ms: number }>() };
  const timed = <T>(sql: string, p: Promise<T>): Promise<T> => {
    if (!profile) return p;
    const t0 = performance.now();
    // the statement's first words and the product function that sent it (the same text is sent from several places)
    const caller = (new Error().stack ?? '')
      .split('\n')
      .find((l) => /(libs|apps)\//.test(l) && !/event-store\.ts|pg-driver\.ts|pglite-driver\.ts/.test(l));
    const key = `${sql.replace(/\s+/g, ' ').trim().slice(0, 60)} @ ${caller?.trim().replace(/^at /, '').replace(/\(.*\/(libs|apps)\//, '(') ?? '?'}`;
    return p.finally(() => {
      const e = counter.byText.get(key) ?? { n: 0, ms: 0 };
      e.n++;
      e.ms += performance.now() - t0;
      counter.byText.set(key, e);
    });
  };
  const wrap = (x: SqlExecutor) => {
    const query = x.query.bind(x);
    const exec = x.exec.bind(x);
    const transaction = x.transaction.bind(x);
    const w = x as { -readonly [K in keyof SqlExecutor]: SqlExecutor[K] };
    w.query = ((sql: string, params?: readonly unknown[]) => {
      counter.count++;
      return timed(sql, query(sql, params));
    }) as SqlExecutor['query'];
    w.exec = (sql: string) => {
      counter.count++;
      return timed(sql, exec(sql));
    };
    w.transaction = <T>(work: (tx: SqlExecutor) => Promise<T>) => {
      counter.count++;
      return transaction((tx) => {
        if (tx !== x && !wrapped.has(tx)) {
          wrapped.add(tx);
          wrap(tx);
        }
        return work(tx);
      });
    };
  };
  const wrapped = new WeakSet<SqlExecutor>();
  wrap(db);
  return counter;
}
