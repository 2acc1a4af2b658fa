import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Recorded, SqlDatabase } from '@refinery/events';
import { testBackends } from '@refinery/events/testing';
import { identityProjection, membershipsProjection } from './projection.ts';
import { findApiTokenByHash, findInvitationByTokenHash, findUserByEmail, listMembers, memberRole, membershipsOfUser } from './queries.ts';

const projectId = '0b7f3a0e-7f2d-4a55-9c55-4a8ad0b1f5a1';
const alice = '11111111-1111-4111-8111-111111111111';
const bob = '22222222-2222-4222-8222-222222222222';
const tokenId = '33333333-3333-4333-8333-333333333333';
const invitationId = '44444444-4444-4444-8444-444444444444';
const hash = { algorithm: 'scrypt', N: 1024, r: 8, p: 1, keyLength: 32, salt: 'c2FsdHNhbHRzYWx0c2FsdA==', hash: 'aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=' };

let seq = 0;
function recorded(type: string, data: Record<string, unknown>, actor = 'system'): Recorded {
  seq++;
  return { type, data, id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`, streamId: 's', revision: 0n, position: `1/${seq}`, meta: { actor, at: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(), schema: 1 } };
}

const identityEvents = [
  recorded('UserRegistered', { userId: alice, email: 'Alice@Example.com', displayName: 'Alice', passwordHash: hash, admin: true, origin: 'bootstrap', invitationId: null }),
  recorded('UserRegistered', { userId: bob, email: 'bob@example.com', displayName: 'Bob', passwordHash: hash, admin: false, origin: 'invitation', invitationId }),
  recorded('UserPasswordChanged', { userId: bob, passwordHash: { ...hash, N: 2048 } }),
  recorded('ApiTokenCreated', { tokenId, userId: alice, name: 'cli', tokenHash: 'a'.repeat(64), prefix: 'rfy_abcd', expiresAt: null }),
  recorded('ApiTokenRevoked', { tokenId, userId: alice }),
  recorded('UserInvited', { invitationId, email: 'bob@example.com', tokenHash: 'b'.repeat(64), projectId, role: 'annotator', expiresAt: '2030-01-01T00:00:00.000Z' }, alice),
  recorded('InvitationAccepted', { invitationId, userId: bob }, bob),
];
const membershipEvents = [
  recorded('MemberAdded', { projectId, userId: alice, role: 'owner' }),
  recorded('MemberAdded', { projectId, userId: bob, role: 'annotator' }),
  recorded('MemberRoleChanged', { projectId, userId: bob, role: 'expert', previousRole: 'annotator' }),
  recorded('MemberAdded', { projectId: alice, userId: bob, role: 'engineer' }),
  recorded('MemberRemoved', { projectId: alice, userId: bob, previousRole: 'engineer' }),
];

for (const backend of testBackends()) {
  describe(`identity read models on ${backend.name}`, () => {
    let db: SqlDatabase;
    beforeAll(async () => {
      db = await backend.open();
      await identityProjection.setup(db);
      await membershipsProjection.setup(db);
      // replaying the same events twice must give the same read model
      for (let i = 0; i < 2; i++) {
        await db.transaction((tx) => identityProjection.apply(tx, identityEvents));
        await db.transaction((tx) => membershipsProjection.apply(tx, membershipEvents));
      }
    });
    afterAll(() => backend.cleanup());

    it('accounts by e-mail (case-insensitive) with their current password hash', async () => {
      const a = await findUserByEmail(db, ' alice@EXAMPLE.com ');
      expect(a).toMatchObject({ id: alice, email: 'Alice@Example.com', displayName: 'Alice', admin: true, passwordHash: hash });
      expect((await findUserByEmail(db, 'bob@example.com'))?.passwordHash?.N).toBe(2048);
      expect(await findUserByEmail(db, 'carol@example.com')).toBeUndefined();
    });

    it('tokens by hash with their revocation; invitations with their acceptance', async () => {
      const t = await findApiTokenByHash(db, 'a'.repeat(64));
      expect(t).toMatchObject({ id: tokenId, userId: alice, name: 'cli', prefix: 'rfy_abcd', expiresAt: null });
      expect(t?.revokedAt).toBe(new Date(Date.UTC(2026, 0, 1, 0, 0, 5)).toISOString());
      const inv = await findInvitationByTokenHash(db, 'b'.repeat(64));
      expect(inv).toMatchObject({ id: invitationId, projectId, role: 'annotator', invitedBy: alice, acceptedBy: bob });
    });

    it('memberships: current roles, removals, per user', async () => {
      expect(await memberRole(db, projectId, bob)).toBe('expert');
      expect(await memberRole(db, alice, bob)).toBeUndefined();
      expect([...(await membershipsOfUser(db, bob))]).toEqual([[projectId, 'expert']]);
      expect((await listMembers(db, projectId)).map((m) => [m.email, m.role])).toEqual([
        ['Alice@Example.com', 'owner'],
        ['bob@example.com', 'expert'],
      ]);
    });

    it('reset empties what it wrote', async () => {
      await identityProjection.reset(db);
      await membershipsProjection.reset(db);
      expect(await findUserByEmail(db, 'bob@example.com')).toBeUndefined();
      expect(await memberRole(db, projectId, bob)).toBeUndefined();
    });
  });
}
