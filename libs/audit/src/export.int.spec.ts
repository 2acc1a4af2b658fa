import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateEventStore, type SqlDatabase } from '@refinery/events';
import { testBackends } from '@refinery/events/testing';
import { ExportFileError, exportLog, GENESIS, importLog, lineHash, verifyLog, waitForHead } from './export.ts';
import { rebuildReadModels } from './replay.ts';
import { projectA, projectB, seedLog, type SeededLog } from './testing/seed.ts';
import { readModelTables, tableRows } from './testing/tables.ts';
import { PostgresEventStore, catalog } from '@refinery/events';

async function* linesOf(text: string): AsyncIterable<string> {
  for (const line of text.split('\n')) yield line;
}

/** Re-chains edited lines, as a forger who knows the format would (to test the catalog checks, not the chain). */
function rechain(lines: string[]): string {
  let prev = GENESIS;
  const out: string[] = [];
  for (const text of lines) {
    if (!text) continue;
    const { prev: _p, hash: _h, ...body } = JSON.parse(text) as Record<string, unknown>;
    if (body['kind'] === 'manifest') body['lastHash'] = prev;
    const hash = lineHash(prev, body);
    out.push(JSON.stringify({ ...body, prev, hash }));
    prev = hash;
  }
  return `${out.join('\n')}\n`;
}

for (const backend of testBackends()) {
  describe(`log export, verify and import on ${backend.name}`, () => {
    let db: SqlDatabase;
    let log: SeededLog;
    let file = '';

    beforeAll(async () => {
      db = await backend.open();
      log = await seedLog(db);
      await exportLog({ db, store: log.store, artifacts: log.artifacts }, async (chunk) => {
        file += chunk;
      });
    });
    afterAll(async () => {
      await log.store.close();
      await backend.cleanup();
    });

    it('writes a header, the artifacts, every event and a manifest, and verifies', async () => {
      const lines = file.trimEnd().split('\n').map((l) => JSON.parse(l) as { kind: string; n?: number });
      const count = await db.query<{ n: number }>('select count(*)::int as n from events');
      expect(lines[0]!.kind).toBe('header');
      expect(lines.at(-1)).toMatchObject({ kind: 'manifest', events: count.rows[0]!.n, artifacts: 3 });
      expect(lines.filter((l) => l.kind === 'event').map((l) => l.n)).toEqual(Array.from({ length: count.rows[0]!.n }, (_, i) => i + 1));
      const report = await verifyLog(linesOf(file));
      expect(report).toMatchObject({ ok: true, problem: null, events: count.rows[0]!.n, artifacts: 3 });
    });

    it('reports the first altered event with its line and id', async () => {
      const lines = file.split('\n');
      const i = lines.findIndex((l) => l.includes('"type":"RecordLabeled"'));
      const altered = lines.slice();
      altered[i] = altered[i]!.replace('"labelIds":["pos"]', '"labelIds":["neg"]');
      expect(altered[i]).not.toBe(lines[i]);
      const report = await verifyLog(linesOf(altered.join('\n')));
      const id = (JSON.parse(lines[i]!) as { event: { id: string } }).event.id;
      expect(report.ok).toBe(false);
      expect(report.problem).toMatchObject({ line: i + 1, eventId: id });
      expect(report.problem!.reason).toMatch(/altered/);
    });

    it('reports a missing event at the line after the gap', async () => {
      const lines = file.split('\n');
      const i = lines.findIndex((l) => l.includes('"type":"GoldLabelSet"'));
      const dropped = [...lines.slice(0, i), ...lines.slice(i + 1)];
      const report = await verifyLog(linesOf(dropped.join('\n')));
      expect(report.problem).toMatchObject({ line: i + 1, eventId: (JSON.parse(lines[i + 1]!) as { event: { id: string } }).event.id });
      expect(report.problem!.reason).toMatch(/missing/);
      // a forger who re-chains still leaves a gap in the event numbers
      const forged = await verifyLog(linesOf(rechain(dropped)));
      expect(forged.problem!.reason).toMatch(/are missing/);
    });

    it('reports a cut-off file and lines appended after the manifest', async () => {
      const lines = file.trimEnd().split('\n');
      const cut = await verifyLog(linesOf(lines.slice(0, 10).join('\n')));
      expect(cut.problem!.reason).toMatch(/without its manifest/);
      const appended = await verifyLog(linesOf(`${file}${lines[3]}\n`));
      expect(appended.problem!.reason).toMatch(/after the manifest/);
      expect((await verifyLog(linesOf(''))).ok).toBe(false);
      expect((await verifyLog(linesOf('not json\n'))).problem).toMatchObject({ line: 1 });
    });

    it('import into an empty log reproduces every read model', async () => {
      await rebuildReadModels({ db, store: log.store }, 'all');
      const target = await backend.open();
      const store = await PostgresEventStore.open(target, { catalog });
      try {
        const result = await importLog(target, () => linesOf(file));
        expect(result.artifacts).toBe(3);
        expect(await waitForHead(store, result.lastPosition)).toBe(true);
        await rebuildReadModels({ db: target, store }, 'all');
        const tables = await readModelTables(db);
        expect(tables).toEqual(await readModelTables(target));
        expect(tables).toContain('audit_history');
        for (const table of tables) {
          // positions are local to a log: the imported copy assigns its own
          expect({ table, rows: await tableRows(target, table, undefined, { ignorePositions: true }) }).toEqual({ table, rows: await tableRows(db, table, undefined, { ignorePositions: true }) });
        }
        // a second import into the now non-empty log is refused
        await expect(importLog(target, () => linesOf(file))).rejects.toMatchObject({ code: 'log_not_empty' });
      } finally {
        await store.close();
      }
    });

    it('refuses a file from a newer schema or with an unknown event type and writes nothing', async () => {
      const lines = file.split('\n');
      const i = lines.findIndex((l) => l.includes('"type":"RecordLabeled"'));
      const newer = lines.slice();
      newer[i] = newer[i]!.replace('"schema":1', '"schema":7');
      const unknown = lines.slice();
      unknown[i] = unknown[i]!.replace('"type":"RecordLabeled"', '"type":"RecordLabelledTwice"');
      for (const [text, pattern] of [
        [rechain(newer), /schema v7, newer than v1/],
        [rechain(unknown), /unknown to this build/],
        [file.replace('"labelIds":["pos"]', '"labelIds":["neg"]'), /altered/],
      ] as const) {
        const target = await backend.open();
        await migrateEventStore(target);
        const err = await importLog(target, () => linesOf(text)).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ExportFileError);
        expect((err as ExportFileError).message).toMatch(pattern);
        expect((err as ExportFileError).problem.line).toBe(i + 1);
        const n = await target.query<{ n: number }>('select (select count(*) from events)::int + (select count(*) from artifacts)::int as n');
        expect(n.rows[0]!.n).toBe(0);
      }
    });

    it('a project export holds that project and the accounts, not other projects', async () => {
      let text = '';
      const r = await exportLog({ db, store: log.store, artifacts: log.artifacts }, async (c) => void (text += c), { projectId: projectA });
      expect((await verifyLog(linesOf(text))).ok).toBe(true);
      expect(text).not.toContain(projectB);
      expect(text).toContain('"UserRegistered"');
      expect(r.artifacts).toBe(2);
    });
  });
}
