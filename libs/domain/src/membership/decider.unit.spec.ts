import { describe, expect, it } from 'vitest';
import type { InvitationEvent, MembershipEvent } from '@refinery/events';
import { DomainError } from '../errors.ts';
import { specFor } from '../testing.ts';
import { mayChangeMembership, membershipDecider } from './decider.ts';
import { invitationDecider } from './invitation.ts';

const spec = specFor(membershipDecider);
const projectId = '0b7f3a0e-7f2d-4a55-9c55-4a8ad0b1f5a1';
const alice = '11111111-1111-4111-8111-111111111111';
const bob = '22222222-2222-4222-8222-222222222222';
const isError = (code: string) => (e: unknown) => e instanceof DomainError && e.code === code;
const added = (userId: string, role: 'owner' | 'engineer' | 'expert' | 'annotator'): MembershipEvent => ({
  type: 'MemberAdded',
  data: { projectId, userId, role },
});

describe('membership decider', () => {
  it('adds a member once', () => {
    spec([]).when({ type: 'AddMember', projectId, userId: alice, role: 'owner' }).then([added(alice, 'owner')]);
    spec([added(alice, 'owner')]).when({ type: 'AddMember', projectId, userId: alice, role: 'expert' }).thenThrows(isError('member_exists'));
  });

  it('changes a role, recording the previous one; the same role records nothing', () => {
    const given = [added(alice, 'owner'), added(bob, 'annotator')];
    spec(given)
      .when({ type: 'ChangeMemberRole', projectId, userId: bob, role: 'expert' })
      .then([{ type: 'MemberRoleChanged', data: { projectId, userId: bob, role: 'expert', previousRole: 'annotator' } }]);
    spec(given).when({ type: 'ChangeMemberRole', projectId, userId: bob, role: 'annotator' }).then([]);
  });

  it('refuses to change or remove someone who is not a member', () => {
    spec([added(alice, 'owner')]).when({ type: 'ChangeMemberRole', projectId, userId: bob, role: 'expert' }).thenThrows(isError('member_not_found'));
    spec([added(alice, 'owner')]).when({ type: 'RemoveMember', projectId, userId: bob }).thenThrows(isError('member_not_found'));
    const removed: MembershipEvent = { type: 'MemberRemoved', data: { projectId, userId: bob, previousRole: 'expert' } };
    spec([added(alice, 'owner'), added(bob, 'expert'), removed]).when({ type: 'RemoveMember', projectId, userId: bob }).thenThrows(isError('member_not_found'));
  });

  it('keeps the last owner: neither removed nor demoted', () => {
    spec([added(alice, 'owner'), added(bob, 'engineer')]).when({ type: 'RemoveMember', projectId, userId: alice }).thenThrows(isError('last_owner'));
    spec([added(alice, 'owner')]).when({ type: 'ChangeMemberRole', projectId, userId: alice, role: 'engineer' }).thenThrows(isError('last_owner'));
  });

  it('an owner can leave or step down once there is another owner', () => {
    const given = [added(alice, 'owner'), added(bob, 'engineer'), { type: 'MemberRoleChanged', data: { projectId, userId: bob, role: 'owner', previousRole: 'engineer' } } as MembershipEvent];
    spec(given).when({ type: 'RemoveMember', projectId, userId: alice }).then([{ type: 'MemberRemoved', data: { projectId, userId: alice, previousRole: 'owner' } }]);
    spec(given)
      .when({ type: 'ChangeMemberRole', projectId, userId: alice, role: 'expert' })
      .then([{ type: 'MemberRoleChanged', data: { projectId, userId: alice, role: 'expert', previousRole: 'owner' } }]);
  });

  it('the owner role is granted, changed and taken only by owners', () => {
    expect(mayChangeMembership('owner', undefined, 'owner')).toBe(true);
    expect(mayChangeMembership('owner', 'owner', undefined)).toBe(true);
    expect(mayChangeMembership('engineer', undefined, 'expert')).toBe(true);
    expect(mayChangeMembership('engineer', 'annotator', 'engineer')).toBe(true);
    expect(mayChangeMembership('engineer', 'expert', undefined)).toBe(true);
    expect(mayChangeMembership('engineer', undefined, 'owner')).toBe(false);
    expect(mayChangeMembership('engineer', 'owner', 'engineer')).toBe(false);
    expect(mayChangeMembership('engineer', 'owner', undefined)).toBe(false);
    for (const role of ['expert', 'annotator', undefined] as const) expect(mayChangeMembership(role, undefined, 'annotator')).toBe(false);
  });
});

describe('invitation decider', () => {
  const ispec = specFor(invitationDecider);
  const invitationId = '33333333-3333-4333-8333-333333333333';
  const invite = {
    type: 'InviteUser' as const,
    invitationId,
    email: 'carol@example.com',
    tokenHash: 'a'.repeat(64),
    projectId,
    role: 'annotator' as const,
    expiresAt: '2030-01-08T00:00:00.000Z',
  };
  const invited: InvitationEvent = { type: 'UserInvited', data: { invitationId, email: invite.email, tokenHash: invite.tokenHash, projectId, role: 'annotator', expiresAt: invite.expiresAt } };

  it('invites once, to a project with a role or to the site with neither', () => {
    ispec([]).when(invite).then([invited]);
    ispec([invited]).when(invite).thenThrows(isError('invitation_exists'));
    ispec([]).when({ ...invite, role: null }).thenThrows(isError('invalid_invitation'));
    ispec([])
      .when({ ...invite, projectId: null, role: null })
      .then([{ type: 'UserInvited', data: { ...invited.data, projectId: null, role: null } } as InvitationEvent]);
  });

  it('is accepted once, before it expires', () => {
    const accept = { type: 'AcceptInvitation' as const, invitationId, userId: alice, now: '2030-01-01T00:00:00.000Z' };
    ispec([invited]).when(accept).then([{ type: 'InvitationAccepted', data: { invitationId, userId: alice } }]);
    ispec([]).when(accept).thenThrows(isError('invitation_not_found'));
    ispec([invited, { type: 'InvitationAccepted', data: { invitationId, userId: alice } }]).when(accept).thenThrows(isError('invitation_used'));
    ispec([invited]).when({ ...accept, now: invite.expiresAt }).thenThrows(isError('invitation_expired'));
  });
});
