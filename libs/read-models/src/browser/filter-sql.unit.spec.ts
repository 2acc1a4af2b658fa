import { describe, expect, it } from 'vitest';
import { compileFilter, MAX_CONTAINMENT_PROBES, Params, type AttributeType } from './filter-sql.ts';

const scope = {
  attributes: new Map<string, AttributeType>([
    ['n', 'integer'],
    ['lang', 'category'],
    ['ok', 'boolean'],
  ]),
  tasks: new Set<string>(),
  probe: () => true,
};

function compile(filter: Parameters<typeof compileFilter>[0], probe: (docs: readonly string[]) => boolean = () => true) {
  const p = new Params();
  return { sql: compileFilter(filter, { ...scope, probe }, p), params: p.values };
}

describe('compileFilter: indexable containment probes for equals / in', () => {
  it('adds values @> {attr: v} before the exact typed comparison of eq', () => {
    const { sql, params } = compile({ attribute: 'n', op: 'eq', value: 50 });
    expect(sql).toMatch(/^\(\(r\."values" @> \$\d+::jsonb\) and /);
    expect(params).toContain('{"n":50}');
    expect(sql).toContain('::numeric');
  });

  it('probes the string and what it parses as for text (->> reads a stored 5 as "5")', () => {
    const { params } = compile({ attribute: 'lang', op: 'eq', value: '5' });
    expect(params).toEqual(expect.arrayContaining(['{"lang":"5"}', '{"lang":5}']));
    expect(compile({ attribute: 'lang', op: 'eq', value: 'en' }).params).not.toContain('{"lang":null}');
  });

  it('probes true and "true" for booleans', () => {
    expect(compile({ attribute: 'ok', op: 'eq', value: true }).params).toEqual(expect.arrayContaining(['{"ok":true}', '{"ok":"true"}']));
  });

  it('ORs one probe per value for in, and none beyond the limit', () => {
    const { sql } = compile({ attribute: 'n', op: 'in', value: [1, 2, 3] });
    expect(sql.match(/@>/g)).toHaveLength(3);
    const many = Array.from({ length: MAX_CONTAINMENT_PROBES + 1 }, (_, i) => i);
    expect(compile({ attribute: 'n', op: 'in', value: many }).sql).not.toContain('@>');
  });

  it('adds a probe only where the scope asks for it (search keeps those of rare values)', () => {
    const seen: string[][] = [];
    expect(compile({ attribute: 'n', op: 'eq', value: 7 }, (docs) => (seen.push([...docs]), false)).sql).not.toContain('@>');
    expect(seen).toEqual([['{"n":7}']]);
    const p = new Params();
    expect(compileFilter({ attribute: 'n', op: 'eq', value: 7 }, { attributes: scope.attributes, tasks: scope.tasks }, p)).not.toContain('@>');
  });

  it('adds no probe where containment is not implied: neq, case-insensitive equals', () => {
    expect(compile({ attribute: 'n', op: 'neq', value: 1 }).sql).not.toContain('@>');
    expect(compile({ attribute: 'lang', op: 'eq', value: 'EN', caseSensitive: false }).sql).not.toContain('@>');
  });
});
