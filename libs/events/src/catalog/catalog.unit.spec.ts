import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { catalog } from './index.ts';

const fixture = new URL('../../test/fixtures/log-2026-11.jsonl', import.meta.url);
const stored = readFileSync(fixture, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line) as { type: string; schema: number; data: unknown });

describe('event catalog', () => {
  it('reads every event as it was written in November 2026 (upcast, then valid under the current schema)', () => {
    for (const e of stored) {
      const current = catalog.upcast(e.type, e.schema, e.data);
      expect(() => catalog.prepare(e.type, current), `${e.type} v${e.schema}`).not.toThrow();
    }
  });

  it('refuses an event from a newer schema version than this build knows', () => {
    expect(() => catalog.upcast('ProjectCreated', 99, {})).toThrow(/newer than v1/);
    expect(() => catalog.upcast('NoSuchEvent', 1, {})).toThrow(/unknown event type/);
  });

  it('every event type of November 2026 is still in the catalog', () => {
    for (const e of stored) expect(catalog.types).toContain(e.type);
  });
});
