import { catalog, type Recorded, type SqlExecutor } from '@refinery/events';
import { BulkRows, dropIndexes, withIndexesDeferred, type BulkColumn, type CatchUp, type Projection } from '@refinery/projector';

/**
 * The audit timeline: one row per event of a project (who, when, what, before → after), indexed
 * by project, record and actor for paged reads newest first. "Before" is the previous value of
 * the same aspect (an annotator's answer for a record and task, a label's definition, a member's
 * role …), kept in `audit_history_state` so a page never walks back through the log.
 *
 * It reads every event type of the catalog: a type added later shows up with its data as
 * "after" (no before) until it gets an aspect below.
 */
export const historyProjection: Projection = {
  name: 'audit_history',
  version: 1,
  handles: catalog.types,
  batchSize: 1000,
  // Read by people browsing history, not by a writer waiting for its own write: gather events.
  coalesceMs: 100,
  async setup(sql) {
    await sql.exec(`
      create table if not exists audit_history (
        event_id   uuid primary key,
        project_id uuid not null,
        tx         bigint not null,
        seq        bigint not null,
        stream_id  text not null,
        type       text not null,
        actor      text not null,
        at         timestamptz not null,
        record_id  text,
        task_id    text,
        aspect     text,
        before     jsonb,
        after      jsonb,
        summary    text not null
      );
      create index if not exists audit_history_project on audit_history (project_id, tx, seq);
      create index if not exists audit_history_record on audit_history (project_id, record_id, tx, seq) where record_id is not null;
      create index if not exists audit_history_actor on audit_history (project_id, actor, tx, seq);
      create table if not exists audit_history_state (
        project_id uuid not null,
        aspect     text not null,
        value      jsonb,
        primary key (project_id, aspect)
      );
    `);
  },
  async reset(sql) {
    // truncate, not delete: a rebuild then refills a table without a million dead rows in it
    await sql.exec('truncate audit_history, audit_history_state;');
  },
  async apply(tx, events) {
    const described = describeAll(events);
    if (described.length === 0) return;
    const aspects = [...new Set(described.filter((x) => x.d.aspect).map((x) => `${x.d.projectId}\u0000${x.d.aspect}`))];
    const state = await loadState(tx, aspects);
    // Aspects that already have a row are updated in place, the rest inserted: measured cheaper
    // than one `insert … on conflict do update` (its speculative insertion per row).
    const stored = new Set(state.keys());
    const rows = historyRows(described, state);
    // Replaying a batch again (a crash before the checkpoint committed) inserts nothing twice.
    await tx.query(
      `insert into audit_history (event_id, project_id, tx, seq, stream_id, type, actor, at, record_id, task_id, aspect, before, after, summary)
       select * from jsonb_to_recordset($1::jsonb) as r(event_id uuid, project_id uuid, tx bigint, seq bigint, stream_id text, type text, actor text,
         at timestamptz, record_id text, task_id text, aspect text, before jsonb, after jsonb, summary text)
       on conflict (event_id) do nothing`,
      [JSON.stringify(rows)],
    );
    if (aspects.length) {
      const row = (k: string) => {
        const [projectId, aspect] = k.split('\u0000') as [string, string];
        return { project_id: projectId, aspect, value: state.get(k) ?? null };
      };
      await tx.query(
        `with updated as (
           update audit_history_state s set value = r.value
           from jsonb_to_recordset($1::jsonb) as r(project_id uuid, aspect text, value jsonb)
           where s.project_id = r.project_id and s.aspect = r.aspect
         )
         insert into audit_history_state (project_id, aspect, value)
         select * from jsonb_to_recordset($2::jsonb) as r(project_id uuid, aspect text, value jsonb)`,
        [JSON.stringify(aspects.filter((k) => stored.has(k)).map(row)), JSON.stringify(aspects.filter((k) => !stored.has(k)).map(row))],
      );
    }
  },
  catchUp: () => new HistoryFold(),
};

/**
 * The same rows as `apply` over the same events: the state of every aspect kept in memory from
 * the start of the log (no reads), the timeline rows serialized page by page and inserted once.
 */
class HistoryFold implements CatchUp {
  private readonly state = new Map<string, unknown>();
  private readonly rows = new BulkRows('audit_history', HISTORY_COLUMNS);
  private rebuildIndexes: (() => Promise<void>) | undefined;

  /**
   * The answer aspects (RecordLabeled), apart from `state`: their value as JSON and as the summary
   * shows it — an answer's "after" is the next one's "before", and strings instead of objects
   * that point into the events keep the old generation small for the garbage collector.
   */
  private readonly answers = new Map<string, { json: string; text: string }>();

  add(events: readonly Recorded[]): void {
    for (const e of events) {
      // 98 % of a labeling log: its row built directly, without the generic description.
      if (e.type === 'RecordLabeled' && this.labeled(e)) continue;
      const d = describe(e);
      if (!d) continue;
      for (const r of historyRows([{ e, d }], this.state)) {
        this.rows.push([
          r.event_id,
          r.project_id,
          r.tx,
          r.seq,
          r.stream_id,
          r.type,
          r.actor,
          r.at,
          r.record_id,
          r.task_id,
          r.aspect,
          r.before === null ? null : JSON.stringify(r.before),
          r.after === null ? null : JSON.stringify(r.after),
          r.summary,
        ]);
      }
    }
  }

  /** The row `historyRows(describe(e))` gives for a RecordLabeled event; false when it is not one of a project. */
  private labeled(e: Recorded): boolean {
    const d = e.data as Data;
    const projectId = d['projectId'];
    if (typeof projectId !== 'string' || !projectId) return false;
    const recordId = typeof d['recordId'] === 'string' ? d['recordId'] : undefined;
    const taskId = typeof d['taskId'] === 'string' ? d['taskId'] : undefined;
    const aspect = `answer:${recordId}:${taskId}:${str(d['annotator'])}`;
    const key = `${projectId}\u0000${aspect}`;
    const before = this.answers.get(key);
    const after = { labelIds: d['labelIds'], spans: d['spans'] };
    const current = { json: JSON.stringify(after), text: answer(after) };
    this.answers.set(key, current);
    const slash = e.position.indexOf('/');
    this.rows.push([
      e.id,
      projectId,
      e.position.slice(0, slash),
      e.position.slice(slash + 1),
      e.streamId,
      e.type,
      e.meta.actor,
      e.meta.at,
      recordId ?? null,
      taskId ?? null,
      aspect,
      before ? before.json : null,
      current.json,
      `labeled ${recordId} in task ${taskId} as ${before ? `${current.text} (was ${before.text})` : current.text}`,
    ]);
    return true;
  }

  /** On a server: the timeline rows need no later state, so they go out while the log is still read. */
  async begin(tx: SqlExecutor): Promise<void> {
    this.rebuildIndexes = await dropIndexes(tx, 'audit_history');
    this.rows.stream(tx);
  }

  async finish(tx: SqlExecutor): Promise<void> {
    if (this.rebuildIndexes) {
      await this.rows.insert(tx);
      await this.rebuildIndexes();
    } else {
      await withIndexesDeferred(tx, 'audit_history', this.rows.length, () => this.rows.insert(tx));
    }
    const state = new BulkRows('audit_history_state', [['project_id', 'uuid'], ['aspect', 'text'], ['value', 'jsonb']]);
    for (const [k, value] of this.state) state.push([...k.split('\u0000'), value === null || value === undefined ? null : JSON.stringify(value)]);
    for (const [k, value] of this.answers) state.push([...k.split('\u0000'), value.json]);
    await withIndexesDeferred(tx, 'audit_history_state', state.length, () => state.insert(tx));
  }
}

const HISTORY_COLUMNS: BulkColumn[] = [
  ['event_id', 'uuid'],
  ['project_id', 'uuid'],
  ['tx', 'bigint'],
  ['seq', 'bigint'],
  ['stream_id', 'text'],
  ['type', 'text'],
  ['actor', 'text'],
  ['at', 'timestamptz'],
  ['record_id', 'text'],
  ['task_id', 'text'],
  ['aspect', 'text'],
  ['before', 'jsonb'],
  ['after', 'jsonb'],
  ['summary', 'text'],
];

function describeAll(events: readonly Recorded[]): { e: Recorded; d: Description }[] {
  return events.flatMap((e) => {
    const d = describe(e);
    return d ? [{ e, d }] : [];
  });
}

/** The timeline rows of described events; `state` (aspect → value) moves along with them. */
function historyRows(described: readonly { e: Recorded; d: Description }[], state: Map<string, unknown>): HistoryRowInput[] {
  const rows: HistoryRowInput[] = [];
  for (const { e, d } of described) {
    const key = d.aspect ? `${d.projectId}\u0000${d.aspect}` : undefined;
    const before = key ? (state.get(key) ?? null) : null;
    const after = typeof d.after === 'function' ? (d.after as (b: unknown) => unknown)(before) : (d.after ?? null);
    if (key) state.set(key, after);
    // "<tx>/<seq>" (both decimal): split rather than parse to bigints and back, a million times in a rebuild
    const slash = e.position.indexOf('/');
    rows.push({
      event_id: e.id,
      project_id: d.projectId,
      tx: e.position.slice(0, slash),
      seq: e.position.slice(slash + 1),
      stream_id: e.streamId,
      type: e.type,
      actor: e.meta.actor,
      at: e.meta.at,
      record_id: d.recordId ?? null,
      task_id: d.taskId ?? null,
      aspect: d.aspect ?? null,
      before,
      after,
      summary: d.summary(before, after),
    });
  }
  return rows;
}

interface HistoryRowInput {
  event_id: string;
  project_id: string;
  tx: string;
  seq: string;
  stream_id: string;
  type: string;
  actor: string;
  at: string;
  record_id: string | null;
  task_id: string | null;
  aspect: string | null;
  before: unknown;
  after: unknown;
  summary: string;
}

async function loadState(tx: SqlExecutor, keys: readonly string[]): Promise<Map<string, unknown>> {
  const state = new Map<string, unknown>();
  if (keys.length === 0) return state;
  const r = await tx.query<{ project_id: string; aspect: string; value: unknown }>(
    `select s.project_id::text, s.aspect, s.value from audit_history_state s
     join jsonb_to_recordset($1::jsonb) as k(project_id uuid, aspect text) on s.project_id = k.project_id and s.aspect = k.aspect`,
    [JSON.stringify(keys.map((k) => ({ project_id: k.split('\u0000')[0], aspect: k.split('\u0000')[1] })))],
  );
  for (const row of r.rows) state.set(`${row.project_id}\u0000${row.aspect}`, row.value);
  return state;
}

interface Description {
  projectId: string;
  recordId?: string;
  taskId?: string;
  /** what the event changes; before is its previous value */
  aspect?: string;
  /** the aspect's new value (null: removed), or how it follows from the previous one */
  after?: unknown;
  summary(before: unknown, after: unknown): string;
}

type Data = Record<string, unknown>;

const str = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
const answer = (v: unknown): string => {
  if (v === null || v === undefined) return 'nothing';
  const a = v as { labelIds?: string[]; spans?: { labelId: string; start: number; end: number }[] };
  const parts = [...(a.labelIds ?? []), ...(a.spans ?? []).map((s) => `${s.labelId}[${s.start}–${s.end}]`)];
  return parts.length ? parts.join(', ') : 'no label';
};
const change = (before: unknown, after: unknown, fmt: (v: unknown) => string) => (before === null ? fmt(after) : `${fmt(after)} (was ${fmt(before)})`);

/** Large arrays (record batches) are summarised by their length: the timeline is not a copy of the log. */
export function compact(data: unknown, depth = 0): unknown {
  if (Array.isArray(data)) return data.length > 20 || depth > 3 ? { count: data.length } : data.map((v) => compact(v, depth + 1));
  if (data && typeof data === 'object') {
    const out: Data = {};
    for (const [k, v] of Object.entries(data as Data)) {
      if (k === 'passwordHash' || k === 'tokenHash') continue; // never echo secrets' hashes
      out[k] = typeof v === 'string' && v.length > 2000 ? `${v.slice(0, 2000)}…` : compact(v, depth + 1);
    }
    return out;
  }
  return data;
}

function describe(e: Recorded): Description | undefined {
  const d = e.data as Data;
  const projectId = typeof d?.['projectId'] === 'string' ? d['projectId'] : undefined;
  if (!projectId) return undefined; // accounts and tokens are not a project's history
  const recordId = typeof d['recordId'] === 'string' ? d['recordId'] : undefined;
  const taskId = typeof d['taskId'] === 'string' ? d['taskId'] : undefined;
  const base = { projectId, ...(recordId ? { recordId } : {}), ...(taskId ? { taskId } : {}) };
  switch (e.type) {
    case 'RecordLabeled':
      return {
        ...base,
        aspect: `answer:${recordId}:${taskId}:${str(d['annotator'])}`,
        after: { labelIds: d['labelIds'], spans: d['spans'] },
        summary: (b, a) => `labeled ${recordId} in task ${taskId} as ${change(b, a, answer)}`,
      };
    case 'GoldLabelSet':
      return { ...base, aspect: `gold:${recordId}:${taskId}`, after: { labelIds: d['labelIds'], spans: d['spans'] }, summary: (b, a) => `set the gold label of ${recordId} in task ${taskId} to ${change(b, a, answer)}` };
    case 'GoldLabelCleared':
      return { ...base, aspect: `gold:${recordId}:${taskId}`, after: null, summary: (b) => `cleared the gold label of ${recordId} in task ${taskId} (was ${answer(b)})` };
    case 'RecordCommented':
      return { ...base, aspect: `comment:${recordId}:${str(d['commentId'])}`, after: { body: d['body'] }, summary: () => `commented on ${recordId}` };
    case 'RecordCommentDeleted':
      return { ...base, aspect: `comment:${recordId}:${str(d['commentId'])}`, after: null, summary: () => `deleted a comment on ${recordId}` };
    case 'ProjectCreated':
    case 'ProjectRenamed':
      return { ...base, aspect: 'project', after: { name: d['name'] }, summary: (b, a) => `${e.type === 'ProjectCreated' ? 'created the project' : 'renamed the project'} ${change(b, a, (v) => `"${(v as Data)['name']}"`)}` };
    case 'ProjectDeleted':
      return { ...base, aspect: 'project', after: null, summary: () => 'deleted the project' };
    case 'LabelingTaskAdded':
    case 'LabelingTaskRenamed':
      return {
        ...base,
        aspect: `task:${taskId}`,
        after: e.type === 'LabelingTaskAdded' ? { name: d['name'], kind: d['kind'], attribute: d['attribute'] } : { name: d['name'] },
        summary: (b, a) => `${e.type === 'LabelingTaskAdded' ? 'added' : 'renamed'} task ${taskId}: ${change(b, a, (v) => `"${(v as Data)['name']}"`)}`,
      };
    case 'LabelingTaskRemoved':
      return { ...base, aspect: `task:${taskId}`, after: null, summary: () => `removed task ${taskId}` };
    case 'LabelAdded':
    case 'LabelChanged':
      return {
        ...base,
        aspect: `label:${taskId}:${str(d['labelId'])}`,
        after: { name: d['name'], color: d['color'], hotkey: d['hotkey'], description: d['description'] },
        summary: (b, a) => `${e.type === 'LabelAdded' ? 'added' : 'changed'} label ${str(d['labelId'])} in task ${taskId}: ${change(b, a, (v) => `"${(v as Data)['name']}" ${(v as Data)['color']}`)}`,
      };
    case 'LabelRemoved':
      return { ...base, aspect: `label:${taskId}:${str(d['labelId'])}`, after: null, summary: () => `removed label ${str(d['labelId'])} from task ${taskId}` };
    case 'LabelingSettingsChanged':
      return { ...base, aspect: 'settings', after: { blindLabeling: d['blindLabeling'] }, summary: (b, a) => `changed labeling settings: blind labeling ${change(b, a, (v) => ((v as Data)['blindLabeling'] ? 'on' : 'off'))}` };
    case 'MemberAdded':
    case 'MemberRoleChanged':
      return { ...base, aspect: `member:${str(d['userId'])}`, after: { role: d['role'] }, summary: (b, a) => `${e.type === 'MemberAdded' ? 'added member' : 'changed the role of'} ${str(d['userId'])}: ${change(b, a, (v) => str((v as Data)['role']))}` };
    case 'MemberRemoved':
      return { ...base, aspect: `member:${str(d['userId'])}`, after: null, summary: (b) => `removed member ${str(d['userId'])} (was ${b ? str((b as Data)['role']) : str(d['previousRole'])})` };
    default: {
      const heuristicId = typeof d['heuristicId'] === 'string' ? d['heuristicId'] : undefined;
      if (e.type === 'HeuristicCreated' || e.type === 'HeuristicRenamed' || e.type === 'HeuristicCodeChanged') {
        // one aspect per heuristic: a rename keeps the code hash, a code change keeps the name
        const fields = e.type === 'HeuristicCodeChanged' ? { codeHash: d['codeHash'] } : e.type === 'HeuristicRenamed' ? { name: d['name'], description: d['description'] } : { name: d['name'], description: d['description'], codeHash: d['codeHash'] ?? null };
        const show = (v: unknown) => `"${(v as Data)['name']}"${(v as Data)['codeHash'] ? ` code ${String((v as Data)['codeHash']).slice(0, 8)}` : ''}`;
        const verb = e.type === 'HeuristicCreated' ? 'created' : e.type === 'HeuristicRenamed' ? 'renamed' : 'changed the code of';
        return {
          ...base,
          aspect: `heuristic:${heuristicId}`,
          after: (before: unknown) => ({ ...((before as Data | null) ?? {}), ...fields }),
          summary: (b, a) => `${verb} heuristic ${heuristicId}: ${change(b, a, show)}`,
        };
      }
      if (e.type === 'HeuristicDeleted') return { ...base, aspect: `heuristic:${heuristicId}`, after: null, summary: () => `deleted heuristic ${heuristicId}` };
      // Any other event of the project: its (compacted) data is the "after".
      return { ...base, after: compact(d), summary: () => `${e.type}${heuristicId ? ` (heuristic ${heuristicId})` : recordId ? ` (${recordId})` : ''}` };
    }
  }
}
