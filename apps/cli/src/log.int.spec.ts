import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite } from '@refinery/events';
import { projectA, projectB, readModelTables, seedLog, tableRows } from '@refinery/audit/testing';
import { rebuildReadModels } from '@refinery/audit';

const ROOT = path.resolve(import.meta.dirname, '../../..');

/** Runs the CLI from source as a user would (`npm run refinery -- …`), on an embedded data directory. */
function refinery(args: string[], dataDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--no-node-snapshot', '--import', 'tsx', path.join(ROOT, 'apps/cli/src/main.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, DATA_DIR: dataDir, DATABASE_URL: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('refinery log export / verify / log import / replay', () => {
  let dir: string;
  let source: string;
  let file: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'refinery-cli-log-'));
    source = path.join(dir, 'source');
    file = path.join(dir, 'log.jsonl');
    const db = await openPglite(source);
    const log = await seedLog(db);
    await log.store.close();
    await db.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exports, verifies, and reports tampering with exit code 1', async () => {
    const exported = await refinery(['log', 'export', file], source);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toMatch(/wrote .*: 33 events, 3 artifacts/);
    const ok = await refinery(['verify', file], source);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/verified — 33 events, 3 artifacts/);

    const lines = readFileSync(file, 'utf8').split('\n');
    const i = lines.findIndex((l) => l.includes('"type":"GoldLabelSet"'));
    const id = (JSON.parse(lines[i]!) as { event: { id: string } }).event.id;
    lines[i] = lines[i]!.replace('"labelIds":["pos"]', '"labelIds":["neg"]');
    const tampered = path.join(dir, 'tampered.jsonl');
    writeFileSync(tampered, lines.join('\n'));
    const bad = await refinery(['verify', tampered], source);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`line ${i + 1}, event ${id}`);

    const usage = await refinery(['verify'], source);
    expect(usage.code).toBe(2);
  });

  it('a project export into an empty data directory reproduces that project; a second import is refused', async () => {
    const projectFile = path.join(dir, 'project.jsonl');
    expect((await refinery(['log', 'export', projectFile, '--project', projectA], source)).code).toBe(0);
    expect(readFileSync(projectFile, 'utf8')).not.toContain(projectB);
    const target = path.join(dir, 'target');
    const imported = await refinery(['log', 'import', projectFile], target);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toMatch(/imported \d+ events and 2 artifacts/);
    const again = await refinery(['log', 'import', projectFile], target);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/not empty/);

    // the source's read models of project A, built by the same projector code, equal the imported ones
    const src = await openPglite(source);
    const { PostgresEventStore, catalog } = await import('@refinery/events');
    const srcStore = await PostgresEventStore.open(src, { catalog });
    await rebuildReadModels({ db: src, store: srcStore }, 'all');
    const dst = await openPglite(target);
    try {
      for (const table of await readModelTables(dst)) {
        // positions are local to a log: the imported copy assigns its own
        expect({ table, rows: await tableRows(dst, table, projectA, { ignorePositions: true }) }).toEqual({ table, rows: await tableRows(src, table, projectA, { ignorePositions: true }) });
      }
    } finally {
      await srcStore.close();
      await src.close();
      await dst.close();
    }
  });

  it('replays one read model with progress, and refuses an unknown one', async () => {
    const r = await refinery(['replay', '--projection', 'record_labels'], source);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/record_labels: rebuilt in/);
    expect(r.stderr).toMatch(/record_labels\s+done/);
    const unknown = await refinery(['replay', '--projection', 'nope'], source);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no read model named "nope"/);
  });

  it('an export from a newer schema is refused and nothing is written', async () => {
    const lines = readFileSync(file, 'utf8').split('\n');
    const i = lines.findIndex((l) => l.includes('"type":"RecordLabeled"'));
    lines[i] = lines[i]!.replace('"schema":1', '"schema":9');
    const newer = path.join(dir, 'newer.jsonl');
    writeFileSync(newer, lines.join('\n'));
    const target = path.join(dir, 'target-newer');
    const r = await refinery(['log', 'import', newer], target);
    expect(r.code).toBe(1);
    // the edited line breaks the chain first; either way nothing lands
    expect(r.stderr).toMatch(new RegExp(`line ${i + 1}`));
    const db = await openPglite(target);
    try {
      const n = await db.query<{ n: number }>('select count(*)::int as n from events');
      expect(n.rows[0]!.n).toBe(0);
    } finally {
      await db.close();
    }
  });
});
