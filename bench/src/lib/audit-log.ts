import { randomUUID } from 'node:crypto';
import { migrateEventStore, SqlArtifactStore, type SqlDatabase } from '@refinery/events';
import { note } from './report.ts';

export const BENCH_PROJECT = '0b7f3a0e-7f2d-4a55-9c55-4a8ad0b1f5a1';
export const OTHER_PROJECT = '0b7f3a0e-7f2d-4a55-9c55-4a8ad0b1f5b2';

export interface AuditLogShape {
  events: number;
  records: number;
  annotators: number;
  /** share of label events that belong to the other project */
  otherShare: number;
}

export interface FilledLog {
  events: number;
  byType: Record<string, number>;
  seconds: number;
  /** the time of the first and last event (synthetic clock: 100 ms per event) */
  firstAt: string;
  lastAt: string;
}

/**
 * A product-shaped log written straight into the `events` table (the same rows `append` writes,
 * without its per-append round trips, so filling a million events takes seconds): accounts and
 * memberships, two projects with a task and four labels, `records` records imported in batches
 * of 1,000, then labeling — each event an annotator's answer for a random record (1 % gold
 * decisions, 0.5 % comments), a share of them in the other project — up to `events` events.
 */
export async function fillAuditLog(db: SqlDatabase, shape: AuditLogShape): Promise<FilledLog> {
  await migrateEventStore(db);
  const t0 = performance.now();
  const start = Date.UTC(2026, 9, 1);
  let n = 0;
  const revisions = new Map<string, number>();
  const byType: Record<string, number> = {};
  let rows: unknown[] = [];
  let firstAt = '';
  let lastAt = '';
  const flush = async () => {
    if (!rows.length) return;
    await db.query(
      `insert into events (id, stream_id, revision, type, schema, data, meta)
       select id, stream_id, revision, type, 1, data, meta from jsonb_to_recordset($1::jsonb) as x(id uuid, stream_id text, revision bigint, type text, data jsonb, meta jsonb)`,
      [JSON.stringify(rows)],
    );
    rows = [];
  };
  const add = async (streamId: string, type: string, data: Record<string, unknown>, actor: string) => {
    const revision = revisions.get(streamId) ?? -1;
    revisions.set(streamId, revision + 1);
    const at = new Date(start + n * 100).toISOString();
    if (!firstAt) firstAt = at;
    lastAt = at;
    rows.push({ id: randomUUID(), stream_id: streamId, revision: revision + 1, type, data, meta: { actor, at } });
    byType[type] = (byType[type] ?? 0) + 1;
    n++;
    if (rows.length >= 2000) await flush();
    if (n % 100_000 === 0) note(`  filled ${n.toLocaleString('en-US')} events`);
  };
  const hash = { algorithm: 'scrypt', N: 1024, r: 8, p: 1, keyLength: 32, salt: 'c2FsdHNhbHRzYWx0c2FsdA==', hash: 'aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=' };
  const users = Array.from({ length: shape.annotators }, (_, i) => `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`);
  for (const [i, u] of users.entries()) {
    await add(`user:${u}`, 'UserRegistered', { userId: u, email: `a${i}@example.com`, displayName: `Annotator ${i}`, passwordHash: hash, admin: i === 0, origin: 'bootstrap', invitationId: null }, 'system');
  }
  const labelIds = ['l0', 'l1', 'l2', 'l3'];
  const fileHash = await new SqlArtifactStore(db).put(new TextEncoder().encode('bench import file'), 'text/csv');
  for (const p of [BENCH_PROJECT, OTHER_PROJECT]) {
    await add(`project:${p}`, 'ProjectCreated', { projectId: p, name: p === BENCH_PROJECT ? 'Bench' : 'Other' }, users[0]!);
    for (const [i, u] of users.entries()) await add(`membership:${p}`, 'MemberAdded', { projectId: p, userId: u, role: i === 0 ? 'owner' : 'annotator' }, users[0]!);
    await add(`project:${p}`, 'LabelingTaskAdded', { projectId: p, taskId: 't1', name: 'Topic', kind: 'single_label', attribute: null, allowOverlap: false }, users[0]!);
    for (const l of labelIds) await add(`project:${p}`, 'LabelAdded', { projectId: p, taskId: 't1', labelId: l, name: `label ${l}`, color: '#336699', hotkey: null, description: '' }, users[0]!);
    const records = p === BENCH_PROJECT ? shape.records : Math.max(1000, Math.round(shape.records * shape.otherShare));
    const importId = randomUUID();
    const stream = `import:${p}:${importId}`;
    await add(stream, 'RecordImportStarted', { projectId: p, importId, format: 'csv', attributes: [{ name: 'text', type: 'text' }], primaryKey: null, recordCount: records, fileHash, fileName: 'bench.csv' }, users[0]!);
    for (let b = 0; b < records; b += 1000) {
      const batch = Array.from({ length: Math.min(1000, records - b) }, (_, i) => ({ id: `r${b + i}`, values: { text: `record ${b + i}: a short text of about the length of a product review, enough to matter` } }));
      await add(stream, 'RecordsImported', { projectId: p, importId, records: batch }, users[0]!);
    }
    await add(stream, 'RecordImportCompleted', { projectId: p, importId, recordCount: records }, users[0]!);
  }
  // mulberry32: a full-period 32-bit generator (a plain LCG in doubles loses precision and cycles early)
  let seed = 42;
  const rand = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const otherRecords = Math.max(1000, Math.round(shape.records * shape.otherShare));
  while (n < shape.events) {
    const other = rand() < shape.otherShare;
    const p = other ? OTHER_PROJECT : BENCH_PROJECT;
    const recordId = `r${Math.floor(rand() * (other ? otherRecords : shape.records))}`;
    const stream = `record:${p}:${recordId}`;
    const label = labelIds[Math.floor(rand() * labelIds.length)]!;
    const roll = rand();
    if (roll < 0.01) await add(stream, 'GoldLabelSet', { projectId: p, recordId, taskId: 't1', labelIds: [label], spans: [] }, users[0]!);
    else if (roll < 0.015) await add(stream, 'RecordCommented', { projectId: p, recordId, commentId: randomUUID(), body: 'looks ambiguous' }, users[1]!);
    else {
      const annotator = users[Math.floor(rand() * users.length)]!;
      await add(stream, 'RecordLabeled', { projectId: p, recordId, taskId: 't1', annotator, labelIds: [label], spans: [] }, annotator);
    }
  }
  await flush();
  const streams = [...revisions].map(([stream_id, revision]) => ({ stream_id, revision }));
  for (let i = 0; i < streams.length; i += 20_000) {
    await db.query(`insert into streams (stream_id, revision) select stream_id, revision from jsonb_to_recordset($1::jsonb) as x(stream_id text, revision bigint)`, [
      JSON.stringify(streams.slice(i, i + 20_000)),
    ]);
  }
  if (db.dialect === 'pg') await db.exec('analyze events');
  return { events: n, byType, seconds: (performance.now() - t0) / 1000, firstAt, lastAt };
}
