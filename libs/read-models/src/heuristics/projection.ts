import type { Projection } from '@refinery/projector';
import { crowdVote } from '@refinery/domain';
import {
  SqlArtifactStore,
  type CrowdRecordLabeled,
  type HeuristicEvent,
  type LabelingTaskRemoved,
  type LabelRemoved,
  type LookupListEvent,
  type ProjectDeleted,
  type Recorded,
  type SqlExecutor,
  type VotesArtifact,
} from '@refinery/events';

import { COLUMNS_DDL, deleteHeuristicColumns, rebuildHeuristicColumn } from './columns.ts';

type Handled = HeuristicEvent | LookupListEvent | ProjectDeleted | LabelingTaskRemoved | LabelRemoved | CrowdRecordLabeled;

/** rows per insert statement when a run's votes are loaded into the matrix */
const CHUNK = 5_000;

/**
 * Heuristics, lookup lists, runs (status, progress, error) and the label matrix.
 *
 * The matrix lives in `rm_heuristic_votes` (one row per heuristic and record with a vote: a label
 * id for classification, spans as JSON for extraction) and is mirrored into `rm_record_labels`
 * with `source = 'heuristic'` and `annotator = <heuristic id>` so the data browser can filter on
 * heuristic votes. A run's votes are read from its artifact when `HeuristicRunCompleted` is
 * applied; the latest completed full run (not a sample) of a heuristic replaces its column.
 *
 * `crowd` heuristics have no runs: the projection keeps the crowd's answers per task
 * (`rm_heuristic_crowd_answers`, from `CrowdRecordLabeled`) and maintains each crowd heuristic's
 * column as they come in, one vote per record (`crowdVote`: the label most pseudonyms gave,
 * abstaining on none or a tie), through the same matrix tables as every other heuristic.
 */
export const heuristicsProjection: Projection = {
  name: 'heuristics',
  // 2: + rm_heuristic_columns (the matrix by column, for statistics)
  // 3: + crowd heuristics (rm_heuristic_crowd_answers from CrowdRecordLabeled)
  version: 3,
  handles: [
    'HeuristicCreated',
    'HeuristicCodeChanged',
    'HeuristicRenamed',
    'HeuristicDeleted',
    'LookupListSaved',
    'LookupListDeleted',
    'HeuristicRunRequested',
    'HeuristicRunProgressed',
    'HeuristicRunCompleted',
    'HeuristicRunFailed',
    'HeuristicRunCancelled',
    'LabelingTaskRemoved',
    'LabelRemoved',
    'ProjectDeleted',
    'CrowdRecordLabeled',
  ],
  // a completed run carries a whole column of the matrix: keep transactions moderate
  batchSize: 20,
  async setup(sql) {
    await sql.exec(`
      create table if not exists rm_heuristics (
        project_id     uuid not null,
        id             text not null,
        task_id        text not null,
        name           text not null,
        description    text not null,
        type           text not null,
        language       text,
        code           text,
        code_hash      text,
        lookup_list_id text,
        label_id       text,
        attribute      text,
        created_at     timestamptz not null,
        created_by     text not null,
        updated_at     timestamptz not null,
        seq            bigint generated always as identity,
        current_run_id uuid,
        primary key (project_id, id)
      );
      create table if not exists rm_heuristic_runs (
        project_id     uuid not null,
        heuristic_id   text not null,
        run_id         uuid not null,
        code_hash      text not null,
        sample         integer,
        status         text not null,
        done           bigint not null default 0,
        total          bigint,
        requested_at   timestamptz not null,
        requested_by   text not null,
        finished_at    timestamptz,
        duration_ms    double precision,
        counts         jsonb,
        votes_artifact text,
        error          jsonb,
        primary key (project_id, heuristic_id, run_id)
      );
      create index if not exists rm_heuristic_runs_latest on rm_heuristic_runs (project_id, heuristic_id, requested_at desc);
      create table if not exists rm_lookup_lists (
        project_id       uuid not null,
        id               text not null,
        name             text not null,
        terms            jsonb not null,
        case_insensitive boolean not null,
        whole_word       boolean not null,
        updated_at       timestamptz not null,
        primary key (project_id, id)
      );
      create table if not exists rm_heuristic_votes (
        project_id   uuid not null,
        task_id      text not null,
        heuristic_id text not null,
        record_id    text not null,
        label_id     text,
        spans        jsonb,
        primary key (project_id, heuristic_id, record_id)
      );
      create index if not exists rm_heuristic_votes_record on rm_heuristic_votes (project_id, record_id);
      create table if not exists rm_heuristic_crowd_answers (
        project_id uuid not null,
        task_id    text not null,
        record_id  text not null,
        holder_id  uuid not null,
        label_id   text not null,
        primary key (project_id, task_id, record_id, holder_id, label_id)
      );
      ${COLUMNS_DDL}
    `);
  },
  async reset(sql) {
    await sql.exec(`delete from rm_heuristics; delete from rm_heuristic_runs; delete from rm_lookup_lists; delete from rm_heuristic_votes;
      delete from rm_heuristic_columns; delete from rm_heuristic_crowd_answers; delete from rm_record_labels where source = 'heuristic';`);
  },
  async apply(tx, events) {
    // crowd columns touched in this batch: rebuilt once at its end
    const dirty = new Map<string, { projectId: string; heuristicId: string; taskId: string }>();
    for (const e of events as readonly Recorded<Handled>[]) {
      switch (e.type) {
        case 'HeuristicCreated': {
          const d = e.data;
          await tx.query(
            `insert into rm_heuristics (project_id, id, task_id, name, description, type, language, code, code_hash, lookup_list_id, label_id, attribute, created_at, created_by, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $13) on conflict do nothing`,
            [d.projectId, d.heuristicId, d.taskId, d.name, d.description, d.type, d.language ?? null, d.code ?? null, d.codeHash ?? null, d.lookupListId ?? null, d.labelId ?? null, d.attribute ?? null, e.meta.at, e.meta.actor],
          );
          if (d.type === 'crowd') await refillCrowdColumn(tx, d.projectId, d.taskId, d.heuristicId, e.meta.at);
          break;
        }
        case 'CrowdRecordLabeled': {
          const d = e.data;
          // a holder's answer replaces their previous one on the record; no labels withdraws it
          await tx.query('delete from rm_heuristic_crowd_answers where project_id = $1 and task_id = $2 and record_id = $3 and holder_id = $4', [d.projectId, d.taskId, d.recordId, d.holderId]);
          if (d.labelIds.length) {
            await tx.query(
              `insert into rm_heuristic_crowd_answers (project_id, task_id, record_id, holder_id, label_id)
               select $1, $2, $3, $4, l from jsonb_array_elements_text($5::jsonb) as t(l) on conflict do nothing`,
              [d.projectId, d.taskId, d.recordId, d.holderId, JSON.stringify(d.labelIds)],
            );
          }
          const crowd = await tx.query<{ id: string }>(`select id from rm_heuristics where project_id = $1 and task_id = $2 and type = 'crowd'`, [d.projectId, d.taskId]);
          if (crowd.rows.length === 0) break;
          const counts = await tx.query<{ label_id: string; n: number }>(
            'select label_id, count(*)::int as n from rm_heuristic_crowd_answers where project_id = $1 and task_id = $2 and record_id = $3 group by label_id',
            [d.projectId, d.taskId, d.recordId],
          );
          const vote = crowdVote(counts.rows.map((r) => [r.label_id, Number(r.n)] as const));
          for (const h of crowd.rows) {
            await setCrowdVote(tx, d.projectId, d.taskId, h.id, d.recordId, vote, e.meta.at);
            dirty.set(`${d.projectId}|${h.id}`, { projectId: d.projectId, heuristicId: h.id, taskId: d.taskId });
          }
          break;
        }
        case 'HeuristicCodeChanged':
          await tx.query('update rm_heuristics set code = $3, code_hash = $4, updated_at = $5 where project_id = $1 and id = $2', [e.data.projectId, e.data.heuristicId, e.data.code, e.data.codeHash, e.meta.at]);
          break;
        case 'HeuristicRenamed':
          await tx.query('update rm_heuristics set name = $3, description = $4, updated_at = $5 where project_id = $1 and id = $2', [e.data.projectId, e.data.heuristicId, e.data.name, e.data.description, e.meta.at]);
          break;
        case 'HeuristicDeleted':
          await dropColumn(tx, e.data.projectId, e.data.heuristicId);
          await tx.query('delete from rm_heuristic_runs where project_id = $1 and heuristic_id = $2', [e.data.projectId, e.data.heuristicId]);
          await tx.query('delete from rm_heuristics where project_id = $1 and id = $2', [e.data.projectId, e.data.heuristicId]);
          break;
        case 'LookupListSaved': {
          const d = e.data;
          await tx.query(
            `insert into rm_lookup_lists (project_id, id, name, terms, case_insensitive, whole_word, updated_at) values ($1, $2, $3, $4::jsonb, $5, $6, $7)
             on conflict (project_id, id) do update set name = excluded.name, terms = excluded.terms, case_insensitive = excluded.case_insensitive,
               whole_word = excluded.whole_word, updated_at = excluded.updated_at`,
            [d.projectId, d.listId, d.name, JSON.stringify(d.terms), d.caseInsensitive, d.wholeWord, e.meta.at],
          );
          break;
        }
        case 'LookupListDeleted':
          await tx.query('delete from rm_lookup_lists where project_id = $1 and id = $2', [e.data.projectId, e.data.listId]);
          break;
        case 'HeuristicRunRequested':
          await tx.query(
            `insert into rm_heuristic_runs (project_id, heuristic_id, run_id, code_hash, sample, status, requested_at, requested_by)
             values ($1, $2, $3, $4, $5, 'requested', $6, $7) on conflict do nothing`,
            [e.data.projectId, e.data.heuristicId, e.data.runId, e.data.codeHash, e.data.sample ?? null, e.meta.at, e.meta.actor],
          );
          break;
        case 'HeuristicRunProgressed':
          await tx.query(
            `update rm_heuristic_runs set status = 'running', done = greatest(done, $4), total = $5
             where project_id = $1 and heuristic_id = $2 and run_id = $3 and status in ('requested', 'running')`,
            [e.data.projectId, e.data.heuristicId, e.data.runId, e.data.done, e.data.total],
          );
          break;
        case 'HeuristicRunFailed':
          await finishRun(tx, e, 'failed', { error: JSON.stringify(e.data.error), duration_ms: e.data.durationMs });
          break;
        case 'HeuristicRunCancelled':
          await finishRun(tx, e, 'cancelled', {});
          break;
        case 'HeuristicRunCompleted': {
          const d = e.data;
          await finishRun(tx, e, 'completed', { counts: JSON.stringify(d.counts), votes_artifact: d.votesArtifact, duration_ms: d.durationMs, done: d.counts.records, total: d.counts.records });
          if (d.sample) break; // a preview: the matrix keeps the last full run
          const h = await tx.query<{ task_id: string }>('select task_id from rm_heuristics where project_id = $1 and id = $2', [d.projectId, d.heuristicId]);
          const taskId = h.rows[0]?.task_id;
          if (!taskId) break; // deleted meanwhile
          const artifact = await new SqlArtifactStore(tx).get(d.votesArtifact);
          if (!artifact) throw new Error(`votes artifact ${d.votesArtifact} of run ${d.runId} is missing`);
          const votes = JSON.parse(Buffer.from(artifact.bytes).toString('utf8')) as VotesArtifact;
          await dropColumn(tx, d.projectId, d.heuristicId);
          await loadColumn(tx, d.projectId, taskId, d.heuristicId, votes, e.meta.at);
          await rebuildHeuristicColumn(tx, d.projectId, d.heuristicId, taskId);
          await tx.query('update rm_heuristics set current_run_id = $3 where project_id = $1 and id = $2', [d.projectId, d.heuristicId, d.runId]);
          break;
        }
        case 'LabelRemoved': {
          // the crowd's answers with the label go; the task's crowd columns are recounted without them
          const answers = await tx.query('delete from rm_heuristic_crowd_answers where project_id = $1 and task_id = $2 and label_id = $3', [e.data.projectId, e.data.taskId, e.data.labelId]);
          if (answers.rowCount) {
            const crowd = await tx.query<{ id: string }>(`select id from rm_heuristics where project_id = $1 and task_id = $2 and type = 'crowd'`, [e.data.projectId, e.data.taskId]);
            for (const h of crowd.rows) await refillCrowdColumn(tx, e.data.projectId, e.data.taskId, h.id, e.meta.at);
          }
          const removed = await tx.query('delete from rm_heuristic_votes where project_id = $1 and task_id = $2 and label_id = $3', [e.data.projectId, e.data.taskId, e.data.labelId]);
          if (removed.rowCount) {
            const hs = await tx.query<{ heuristic_id: string }>('select heuristic_id from rm_heuristic_columns where project_id = $1 and task_id = $2', [e.data.projectId, e.data.taskId]);
            for (const h of hs.rows) await rebuildHeuristicColumn(tx, e.data.projectId, h.heuristic_id, e.data.taskId);
          }
          break;
        }
        case 'LabelingTaskRemoved':
          await tx.query('delete from rm_heuristic_crowd_answers where project_id = $1 and task_id = $2', [e.data.projectId, e.data.taskId]);
          await tx.query('delete from rm_heuristic_votes where project_id = $1 and task_id = $2', [e.data.projectId, e.data.taskId]);
          await deleteHeuristicColumns(tx, e.data.projectId, { taskId: e.data.taskId });
          break;
        case 'ProjectDeleted':
          for (const table of ['rm_heuristics', 'rm_heuristic_runs', 'rm_lookup_lists', 'rm_heuristic_votes', 'rm_heuristic_columns', 'rm_heuristic_crowd_answers']) await tx.query(`delete from ${table} where project_id = $1`, [e.data.projectId]);
          break;
      }
    }
    for (const c of dirty.values()) {
      // deleted (or its task removed) later in the same batch: nothing to rebuild
      const still = await tx.query('select 1 from rm_heuristics where project_id = $1 and id = $2', [c.projectId, c.heuristicId]);
      if (still.rows.length) await rebuildHeuristicColumn(tx, c.projectId, c.heuristicId, c.taskId);
    }
  },
};

/** Sets (or, with null, clears) a crowd heuristic's vote on one record in the matrix rows. */
async function setCrowdVote(tx: SqlExecutor, projectId: string, taskId: string, heuristicId: string, recordId: string, labelId: string | null, at: string): Promise<void> {
  await tx.query('delete from rm_heuristic_votes where project_id = $1 and heuristic_id = $2 and record_id = $3', [projectId, heuristicId, recordId]);
  await tx.query(`delete from rm_record_labels where project_id = $1 and source = 'heuristic' and annotator = $2 and record_id = $3`, [projectId, heuristicId, recordId]);
  if (labelId === null) return;
  await tx.query('insert into rm_heuristic_votes (project_id, task_id, heuristic_id, record_id, label_id) values ($1, $2, $3, $4, $5)', [projectId, taskId, heuristicId, recordId, labelId]);
  await tx.query(
    `insert into rm_record_labels (project_id, record_id, task_id, source, annotator, label_id, labeled_at) values ($1, $2, $3, 'heuristic', $4, $5, $6::timestamptz)`,
    [projectId, recordId, taskId, heuristicId, labelId, at],
  );
}

/** A crowd heuristic's whole column from the task's crowd answers (on creation, after a label was removed). */
async function refillCrowdColumn(tx: SqlExecutor, projectId: string, taskId: string, heuristicId: string, at: string): Promise<void> {
  const r = await tx.query<{ record_id: string; label_id: string; n: number }>(
    'select record_id, label_id, count(*)::int as n from rm_heuristic_crowd_answers where project_id = $1 and task_id = $2 group by record_id, label_id order by record_id',
    [projectId, taskId],
  );
  const byRecord = new Map<string, Array<readonly [string, number]>>();
  for (const row of r.rows) {
    const list = byRecord.get(row.record_id) ?? [];
    list.push([row.label_id, Number(row.n)]);
    byRecord.set(row.record_id, list);
  }
  const votes: VotesArtifact = { format: 'refinery.heuristic-votes.v1', kind: 'classification', recordIds: [], votes: [] };
  for (const [recordId, counts] of byRecord) {
    const vote = crowdVote(counts);
    if (vote === null) continue;
    votes.recordIds.push(recordId);
    votes.votes.push(vote);
  }
  await dropColumn(tx, projectId, heuristicId);
  await loadColumn(tx, projectId, taskId, heuristicId, votes, at);
  await rebuildHeuristicColumn(tx, projectId, heuristicId, taskId);
}

async function finishRun(tx: SqlExecutor, e: Recorded<Handled>, status: string, extra: Record<string, unknown>): Promise<void> {
  const d = e.data as { projectId: string; heuristicId: string; runId: string };
  const cols = Object.keys(extra);
  const sets = cols.map((c, i) => `${c} = $${i + 6}${c === 'counts' || c === 'error' ? '::jsonb' : ''}`);
  // The first outcome wins (a cancellation racing a completion: whichever the log has first).
  await tx.query(
    `update rm_heuristic_runs set status = $4, finished_at = $5${sets.length ? ', ' + sets.join(', ') : ''}
     where project_id = $1 and heuristic_id = $2 and run_id = $3 and status in ('requested', 'running')`,
    [d.projectId, d.heuristicId, d.runId, status, e.meta.at, ...cols.map((c) => extra[c])],
  );
}

async function dropColumn(tx: SqlExecutor, projectId: string, heuristicId: string): Promise<void> {
  await tx.query('delete from rm_heuristic_votes where project_id = $1 and heuristic_id = $2', [projectId, heuristicId]);
  await deleteHeuristicColumns(tx, projectId, { heuristicId });
  await tx.query(`delete from rm_record_labels where project_id = $1 and source = 'heuristic' and annotator = $2`, [projectId, heuristicId]);
}

async function loadColumn(tx: SqlExecutor, projectId: string, taskId: string, heuristicId: string, votes: VotesArtifact, at: string): Promise<void> {
  for (let i = 0; i < votes.recordIds.length; i += CHUNK) {
    const ids = votes.recordIds.slice(i, i + CHUNK);
    const vs = votes.votes.slice(i, i + CHUNK);
    if (votes.kind === 'classification') {
      const params = [projectId, taskId, heuristicId, JSON.stringify(ids), JSON.stringify(vs), at];
      await tx.query(
        `insert into rm_heuristic_votes (project_id, task_id, heuristic_id, record_id, label_id)
         select $1, $2, $3, r, l from unnest(array(select jsonb_array_elements_text($4::jsonb)), array(select jsonb_array_elements_text($5::jsonb))) as t(r, l)
         on conflict do nothing`,
        params.slice(0, 5),
      );
      await tx.query(
        `insert into rm_record_labels (project_id, record_id, task_id, source, annotator, label_id, labeled_at)
         select $1, r, $2, 'heuristic', $3, l, $6::timestamptz from unnest(array(select jsonb_array_elements_text($4::jsonb)), array(select jsonb_array_elements_text($5::jsonb))) as t(r, l)`,
        params,
      );
    } else {
      const rows = ids.map((recordId, k) => ({ r: recordId, s: vs[k] as Array<[string, number, number]> }));
      await tx.query(
        `insert into rm_heuristic_votes (project_id, task_id, heuristic_id, record_id, spans)
         select $1, $2, $3, x.r, x.s from jsonb_to_recordset($4::jsonb) as x(r text, s jsonb) on conflict do nothing`,
        [projectId, taskId, heuristicId, JSON.stringify(rows)],
      );
      const flat = rows.flatMap((row) => row.s.map(([l, start, end]) => ({ r: row.r, l, a: start, b: end })));
      await tx.query(
        `insert into rm_record_labels (project_id, record_id, task_id, source, annotator, label_id, span_start, span_end, labeled_at)
         select $1, x.r, $2, 'heuristic', $3, x.l, x.a, x.b, $5::timestamptz from jsonb_to_recordset($4::jsonb) as x(r text, l text, a integer, b integer)`,
        [projectId, taskId, heuristicId, JSON.stringify(flat), at],
      );
    }
  }
}
