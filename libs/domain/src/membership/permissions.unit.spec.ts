import { describe, expect, it } from 'vitest';
import { allowed, PERMISSIONS, refusal, ROLES, SUBJECTS, type Permission, type Subject } from './permissions.ts';

/** The matrix as documented in docs/identity.md: one row per permission, columns in SUBJECTS order. */
const EXPECTED: Record<Permission, Record<Subject, boolean>> = {
  public: { anonymous: true, 'signed-in': true, owner: true, engineer: true, expert: true, annotator: true },
  authenticated: { anonymous: false, 'signed-in': true, owner: true, engineer: true, expert: true, annotator: true },
  'project:read': { anonymous: false, 'signed-in': false, owner: true, engineer: true, expert: true, annotator: true },
  'project:label': { anonymous: false, 'signed-in': false, owner: true, engineer: true, expert: true, annotator: true },
  'project:gold': { anonymous: false, 'signed-in': false, owner: true, engineer: true, expert: true, annotator: false },
  'project:heuristics:read': { anonymous: false, 'signed-in': false, owner: true, engineer: true, expert: true, annotator: false },
  'project:heuristics:write': { anonymous: false, 'signed-in': false, owner: true, engineer: true, expert: false, annotator: false },
  'project:manage': { anonymous: false, 'signed-in': false, owner: true, engineer: true, expert: false, annotator: false },
  'project:members': { anonymous: false, 'signed-in': false, owner: true, engineer: true, expert: false, annotator: false },
};

describe('permission matrix', () => {
  it('matches the documented matrix for every subject and permission', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual([...PERMISSIONS].sort());
    for (const permission of PERMISSIONS) {
      for (const subject of SUBJECTS) {
        expect({ permission, subject, allowed: allowed(subject, permission) }).toEqual({ permission, subject, allowed: EXPECTED[permission][subject] });
      }
    }
  });

  it('roles are ordered: a more powerful role can do everything a weaker one can', () => {
    for (let i = 0; i + 1 < ROLES.length; i++) {
      for (const p of PERMISSIONS) if (allowed(ROLES[i + 1]!, p)) expect(allowed(ROLES[i]!, p)).toBe(true);
    }
  });

  it('refuses without credentials as unauthenticated (401), otherwise as forbidden (403)', () => {
    expect(refusal('anonymous', 'authenticated')).toBe('unauthenticated');
    expect(refusal('anonymous', 'project:read')).toBe('unauthenticated');
    expect(refusal('signed-in', 'project:read')).toBe('forbidden');
    expect(refusal('annotator', 'project:manage')).toBe('forbidden');
    expect(refusal('owner', 'project:manage')).toBeUndefined();
    expect(refusal('anonymous', 'public')).toBeUndefined();
  });
});
