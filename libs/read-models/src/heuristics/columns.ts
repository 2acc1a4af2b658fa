/**
 * The label matrix by column, compact, for statistics: `rm_heuristic_columns` holds one row per
 * heuristic with its votes as the records' positions (`rm_records.seq`, ascending: varint deltas
 * or a bitmap) and the label of each vote bit-packed (format: `encodeColumn` in libs/domain).
 * Statistics over 1M records × 50 heuristics read ~8 MB in 50 rows instead of 12M rows of
 * `rm_heuristic_votes`. Stored as base64 text: PGlite returns bytea ~20× slower than text.
 *
 * A column is built from `rm_heuristic_votes` joined to `rm_records` when the heuristics projection
 * loads a run (and after a label of the task is removed). If records were not projected yet at
 * that moment (a rebuild of the records read model alone), the column notes fewer positions found
 * than votes, and the statistics query rebuilds it before use.
 */
import type { SqlExecutor } from '@refinery/events';
import { decodeColumnCodes, decodeColumnSeqs, encodeColumn } from '@refinery/domain';

export const COLUMNS_DDL = `
  create table if not exists rm_heuristic_columns (
    project_id   uuid not null,
    heuristic_id text not null,
    task_id      text not null,
    labels       jsonb not null,
    seqs         text not null,
    codes        text not null,
    votes        integer not null,
    expected     integer not null,
    primary key (project_id, heuristic_id)
  );
`;

/** Writes a column (replacing the heuristic's previous one). */
export async function writeHeuristicColumn(
  sql: SqlExecutor,
  c: { projectId: string; heuristicId: string; taskId: string; seqs: ArrayLike<number>; labelIds: ArrayLike<string>; expected?: number },
): Promise<void> {
  const enc = encodeColumn(c.seqs, c.labelIds);
  await sql.query(
    `insert into rm_heuristic_columns (project_id, heuristic_id, task_id, labels, seqs, codes, votes, expected) values ($1, $2, $3, $4::jsonb, $5, $6, $7, $8)
     on conflict (project_id, heuristic_id) do update set task_id = excluded.task_id, labels = excluded.labels, seqs = excluded.seqs, codes = excluded.codes,
       votes = excluded.votes, expected = excluded.expected`,
    [c.projectId, c.heuristicId, c.taskId, JSON.stringify(enc.labels), base64(enc.seqs), base64(enc.codes), c.seqs.length, c.expected ?? c.seqs.length],
  );
}

/** Rebuilds a heuristic's column from its rows in `rm_heuristic_votes` (one aggregated row back). */
export async function rebuildHeuristicColumn(sql: SqlExecutor, projectId: string, heuristicId: string, taskId: string): Promise<void> {
  const r = await sql.query<{ expected: number; s: string | null; l: string | null }>(
    `select count(*)::int as expected,
            string_agg(r.seq::text, ',' order by r.seq) filter (where r.seq is not null) as s,
            (json_agg(coalesce(v.label_id, v.spans->0->>0) order by r.seq) filter (where r.seq is not null))::text as l
     from rm_heuristic_votes v left join rm_records r on r.project_id = v.project_id and r.id = v.record_id
     where v.project_id = $1 and v.heuristic_id = $2`,
    [projectId, heuristicId],
  );
  const row = r.rows[0];
  const seqs = row?.s ? row.s.split(',').map(Number) : [];
  const labelIds = row?.l ? (JSON.parse(row.l) as string[]) : [];
  await writeHeuristicColumn(sql, { projectId, heuristicId, taskId, seqs, labelIds, expected: Number(row?.expected ?? 0) });
}

export async function deleteHeuristicColumns(sql: SqlExecutor, projectId: string, where: { heuristicId?: string; taskId?: string } = {}): Promise<void> {
  if (where.heuristicId !== undefined) await sql.query('delete from rm_heuristic_columns where project_id = $1 and heuristic_id = $2', [projectId, where.heuristicId]);
  else if (where.taskId !== undefined) await sql.query('delete from rm_heuristic_columns where project_id = $1 and task_id = $2', [projectId, where.taskId]);
  else await sql.query('delete from rm_heuristic_columns where project_id = $1', [projectId]);
}

export interface LoadedColumn {
  heuristicId: string;
  taskId: string;
  labels: string[];
  /** record positions (seq), ascending */
  seqs: Float64Array;
  codes: Uint8Array;
}

/** The project's columns; stale ones (records projected after the column was built) are rebuilt first. */
export async function loadHeuristicColumns(sql: SqlExecutor, projectId: string): Promise<LoadedColumn[]> {
  const read = () =>
    sql.query<{ heuristic_id: string; task_id: string; labels: string[]; seqs: string; codes: string; votes: number; expected: number }>(
      'select heuristic_id, task_id, labels, seqs, codes, votes, expected from rm_heuristic_columns where project_id = $1',
      [projectId],
    );
  let r = await read();
  const stale = r.rows.filter((c) => c.votes < c.expected);
  if (stale.length > 0) {
    for (const c of stale) await rebuildHeuristicColumn(sql, projectId, c.heuristic_id, c.task_id);
    r = await read();
  }
  return r.rows.map((c) => ({
    heuristicId: c.heuristic_id,
    taskId: c.task_id,
    labels: c.labels,
    seqs: decodeColumnSeqs(Buffer.from(c.seqs, 'base64'), c.votes),
    codes: decodeColumnCodes(Buffer.from(c.codes, 'base64'), c.votes, c.labels.length),
  }));
}

/** Maps record positions (seq) of a project to dense indices 0..n-1 in import order. */
export interface RecordIndex {
  n: number;
  /** index of each position of an ascending list; -1 where the position is not a record of the project */
  map(seqs: Float64Array): Int32Array;
  /**
   * A column's votes as dense record indices and label indices (`byCode[code]`, -1 = drop),
   * leaving out votes on unknown positions and dropped labels.
   */
  mapVotes(seqs: Float64Array, codes: Uint8Array, byCode: Int32Array): { records: Int32Array; labels: Int32Array };
}

// Records are only ever appended to a project (never deleted one by one), so the record count and
// the first and last position identify the set of positions: the runs of consecutive positions
// are cached under that key.
const rangeCache = new Map<string, Array<{ lo: number; start: number; n: number }>>();
const RANGE_CACHE_SIZE = 32;

export async function recordIndex(sql: SqlExecutor, projectId: string, recordCount: number): Promise<RecordIndex> {
  const b = await sql.query<{ lo: string | null; hi: string | null }>('select min(seq)::text as lo, max(seq)::text as hi from rm_records where project_id = $1', [projectId]);
  const lo = Number(b.rows[0]?.lo ?? 0);
  const hi = Number(b.rows[0]?.hi ?? -1);
  let runs: Array<{ lo: number; start: number; n: number }>;
  if (b.rows[0]?.lo === null || b.rows[0]?.lo === undefined) runs = [];
  else if (hi - lo + 1 === recordCount) runs = [{ lo, start: 0, n: recordCount }];
  else {
    const key = `${projectId}:${recordCount}:${lo}:${hi}`;
    const cached = rangeCache.get(key);
    if (cached) runs = cached;
    else {
      // gaps and islands: consecutive positions share seq - row_number()
      const r = await sql.query<{ lo: string; n: number }>(
        `select min(seq)::text as lo, count(*)::int as n from (select seq, seq - row_number() over (order by seq) as g from rm_records where project_id = $1) t group by g order by min(seq)`,
        [projectId],
      );
      let start = 0;
      runs = r.rows.map((x) => {
        const run = { lo: Number(x.lo), start, n: Number(x.n) };
        start += run.n;
        return run;
      });
      if (rangeCache.size >= RANGE_CACHE_SIZE) rangeCache.delete(rangeCache.keys().next().value!);
      rangeCache.set(key, runs);
    }
  }
  const n = runs.reduce((a, x) => a + x.n, 0);
  return {
    n: Math.max(n, recordCount),
    map(seqs) {
      const out = new Int32Array(seqs.length);
      let k = 0;
      for (let i = 0; i < seqs.length; i++) {
        const s = seqs[i]!;
        // seqs ascend: advance through the runs
        while (k < runs.length && s >= runs[k]!.lo + runs[k]!.n) k++;
        const run = runs[k];
        out[i] = run && s >= run.lo ? run.start + (s - run.lo) : -1;
      }
      return out;
    },
    mapVotes(seqs, codes, byCode) {
      const records = new Int32Array(seqs.length);
      const labels = new Int32Array(seqs.length);
      let n = 0;
      let k = 0;
      for (let i = 0; i < seqs.length; i++) {
        const s = seqs[i]!;
        while (k < runs.length && s >= runs[k]!.lo + runs[k]!.n) k++;
        const run = runs[k];
        const l = byCode[codes[i]!]!;
        if (!run || s < run.lo || l < 0) continue;
        records[n] = run.start + (s - run.lo);
        labels[n++] = l;
      }
      return { records: records.subarray(0, n), labels: labels.subarray(0, n) };
    },
  };
}

function base64(u: Uint8Array): string {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('base64');
}
