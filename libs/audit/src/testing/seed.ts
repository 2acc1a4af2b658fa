import { catalog, hasReached, membershipStreamId, PostgresEventStore, projectStreamId, recordStreamId, importStreamId, SqlArtifactStore, userStreamId, heuristicStreamId, type SqlDatabase } from '@refinery/events';

export const alice = '11111111-1111-4111-8111-111111111111';
export const bob = '22222222-2222-4222-8222-222222222222';
export const projectA = '0b7f3a0e-7f2d-4a55-9c55-4a8ad0b1f5a1';
export const projectB = '0b7f3a0e-7f2d-4a55-9c55-4a8ad0b1f5b2';
const hash = { algorithm: 'scrypt', N: 1024, r: 8, p: 1, keyLength: 32, salt: 'c2FsdHNhbHRzYWx0c2FsdA==', hash: 'aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=' };

/** A moving clock: every append is one minute after the previous one. */
export function stepClock(start = Date.UTC(2026, 10, 1, 9, 0, 0)) {
  let t = start;
  return {
    now: () => new Date(t),
    tick: (minutes = 1) => {
      t += minutes * 60_000;
    },
    iso: () => new Date(t).toISOString(),
  };
}

export interface SeededLog {
  store: PostgresEventStore;
  artifacts: SqlArtifactStore;
  clock: ReturnType<typeof stepClock>;
  /** positions and times after named steps */
  marks: Record<string, { position: string; time: string }>;
}

/**
 * Two projects in one log: project A with a task, two labels, three records, labels that change
 * over time, a gold label, a comment and a completed heuristic run (with its votes artifact);
 * project B interleaved with labels of its own.
 */
export async function seedLog(db: SqlDatabase): Promise<SeededLog> {
  const clock = stepClock();
  const store = await PostgresEventStore.open(db, { catalog, now: clock.now });
  const artifacts = new SqlArtifactStore(db);
  const marks: SeededLog['marks'] = {};
  const step = async (name: string | undefined, streamId: string, type: string, data: Record<string, unknown>, actor = alice) => {
    clock.tick();
    const r = await store.append(streamId, [{ type, data }], { actor });
    if (name) marks[name] = { position: r.position, time: clock.iso() };
    return r;
  };
  await step(undefined, userStreamId(alice), 'UserRegistered', { userId: alice, email: 'alice@example.com', displayName: 'Alice', passwordHash: hash, admin: true, origin: 'bootstrap', invitationId: null }, 'system');
  await step(undefined, userStreamId(bob), 'UserRegistered', { userId: bob, email: 'bob@example.com', displayName: 'Bob', passwordHash: hash, admin: false, origin: 'bootstrap', invitationId: null }, 'system');
  for (const p of [projectA, projectB]) {
    await step(p === projectA ? 'createdA' : 'createdB', projectStreamId(p), 'ProjectCreated', { projectId: p, name: p === projectA ? 'Alpha' : 'Beta' });
    await step(undefined, membershipStreamId(p), 'MemberAdded', { projectId: p, userId: alice, role: 'owner' });
    await step(undefined, membershipStreamId(p), 'MemberAdded', { projectId: p, userId: bob, role: 'annotator' });
    await step(undefined, projectStreamId(p), 'LabelingTaskAdded', { projectId: p, taskId: 't1', name: 'Sentiment', kind: 'single_label', attribute: null, allowOverlap: false });
    for (const [labelId, name, color] of [['pos', 'positive', '#00aa00'], ['neg', 'negative', '#aa0000']] as const) {
      await step(undefined, projectStreamId(p), 'LabelAdded', { projectId: p, taskId: 't1', labelId, name, color, hotkey: null, description: '' });
    }
    const importId = p === projectA ? 'aaaaaaaa-0000-4000-8000-000000000001' : 'aaaaaaaa-0000-4000-8000-000000000002';
    const fileHash = await artifacts.put(new TextEncoder().encode(`text\nhello ${p}\n`), 'text/csv');
    clock.tick();
    await store.append(
      importStreamId(p, importId),
      [
        { type: 'RecordImportStarted', data: { projectId: p, importId, format: 'csv', attributes: [{ name: 'text', type: 'text' }], primaryKey: null, recordCount: 3, fileHash, fileName: 'a.csv' } },
        { type: 'RecordsImported', data: { projectId: p, importId, records: ['r1', 'r2', 'r3'].map((id) => ({ id, values: { text: `text of ${id}` } })) } },
        { type: 'RecordImportCompleted', data: { projectId: p, importId, recordCount: 3 } },
      ],
      { actor: alice },
    );
  }
  const label = (name: string | undefined, p: string, record: string, annotator: string, labelIds: string[]) =>
    step(name, recordStreamId(p, record), 'RecordLabeled', { projectId: p, recordId: record, taskId: 't1', annotator, labelIds, spans: [] }, annotator);
  await label('firstLabel', projectA, 'r1', bob, ['pos']);
  await label(undefined, projectB, 'r1', bob, ['neg']);
  await label('changedLabel', projectA, 'r1', bob, ['neg']);
  await label(undefined, projectA, 'r2', alice, ['pos']);
  await label(undefined, projectA, 'r2', bob, ['neg']);
  await step('gold', recordStreamId(projectA, 'r2'), 'GoldLabelSet', { projectId: projectA, recordId: 'r2', taskId: 't1', labelIds: ['pos'], spans: [] });
  await step(undefined, recordStreamId(projectA, 'r3'), 'RecordCommented', { projectId: projectA, recordId: 'r3', commentId: 'cccccccc-0000-4000-8000-000000000001', body: 'unclear' }, bob);
  await step(undefined, membershipStreamId(projectA), 'MemberRoleChanged', { projectId: projectA, userId: bob, role: 'expert', previousRole: 'annotator' });
  // a heuristic with a completed run whose votes live in an artifact
  const code = 'function lf(r) { return "pos"; }';
  const codeHash = 'd'.repeat(64);
  const h = heuristicStreamId(projectA, 'h1');
  await step(undefined, h, 'HeuristicCreated', { projectId: projectA, heuristicId: 'h1', taskId: 't1', type: 'labeling_function', name: 'always positive', description: '', language: 'javascript', code, codeHash });
  const votes = { format: 'refinery.heuristic-votes.v1', kind: 'classification', recordIds: ['r1', 'r3'], votes: ['pos', 'pos'] };
  const votesArtifact = await artifacts.put(new TextEncoder().encode(JSON.stringify(votes)), 'application/json');
  const runId = 'bbbbbbbb-0000-4000-8000-000000000001';
  await step(undefined, h, 'HeuristicRunRequested', { projectId: projectA, heuristicId: 'h1', runId, codeHash });
  await step('run', h, 'HeuristicRunCompleted', { projectId: projectA, heuristicId: 'h1', runId, codeHash, votesArtifact, counts: { records: 3, votes: 2, byLabel: { pos: 2 } }, durationMs: 12 });
  await label('last', projectA, 'r3', bob, ['pos']);
  const end = await label(undefined, projectB, 'r2', bob, ['pos']);
  // On a shared PostgreSQL server another session's open transaction holds the head back (the
  // snapshot xmin is cluster-wide): wait until the log's head covers what was just written.
  for (let i = 0; i < 600 && !hasReached(await store.head(), end.position); i++) await new Promise((r) => setTimeout(r, 50));
  return { store, artifacts, clock, marks };
}
