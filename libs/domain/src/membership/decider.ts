import type { MembershipEvent } from '@refinery/events';
import { DomainError } from '../errors.ts';
import type { Decider } from '../decider.ts';
import type { Role } from './permissions.ts';

/**
 * Project membership on the `membership:<projectId>` stream. Invariant: a project that has
 * members always keeps at least one owner (the last owner can be neither removed nor demoted).
 */
export type MembershipCommand =
  | { type: 'AddMember'; projectId: string; userId: string; role: Role }
  | { type: 'ChangeMemberRole'; projectId: string; userId: string; role: Role }
  | { type: 'RemoveMember'; projectId: string; userId: string };

export interface MembershipState {
  /** userId -> role, in the order members were added */
  readonly members: ReadonlyMap<string, Role>;
}

function owners(state: MembershipState): number {
  let n = 0;
  for (const role of state.members.values()) if (role === 'owner') n++;
  return n;
}

function requireMember(state: MembershipState, projectId: string, userId: string): Role {
  const role = state.members.get(userId);
  if (!role) throw new DomainError('not_found', 'member_not_found', `user ${userId} is not a member of project ${projectId}`, { projectId, userId });
  return role;
}

function refuseLastOwner(state: MembershipState, projectId: string, userId: string, action: 'remove' | 'demote'): void {
  if (state.members.get(userId) === 'owner' && owners(state) === 1) {
    throw new DomainError('conflict', 'last_owner', `the last owner of project ${projectId} cannot be ${action === 'remove' ? 'removed' : 'demoted'}; make someone else an owner first`, {
      projectId,
      userId,
    });
  }
}

export const membershipDecider: Decider<MembershipCommand, MembershipState, MembershipEvent> = {
  initialState: { members: new Map() },

  decide(command, state) {
    const { projectId, userId } = command;
    switch (command.type) {
      case 'AddMember':
        if (state.members.has(userId)) {
          throw new DomainError('conflict', 'member_exists', `user ${userId} is already a member of project ${projectId} (change the role instead)`, {
            projectId,
            userId,
            role: state.members.get(userId),
          });
        }
        return [{ type: 'MemberAdded', data: { projectId, userId, role: command.role } }];
      case 'ChangeMemberRole': {
        const previousRole = requireMember(state, projectId, userId);
        if (previousRole === command.role) return [];
        if (command.role !== 'owner') refuseLastOwner(state, projectId, userId, 'demote');
        return [{ type: 'MemberRoleChanged', data: { projectId, userId, role: command.role, previousRole } }];
      }
      case 'RemoveMember': {
        const previousRole = requireMember(state, projectId, userId);
        refuseLastOwner(state, projectId, userId, 'remove');
        return [{ type: 'MemberRemoved', data: { projectId, userId, previousRole } }];
      }
      default: {
        const unhandled: never = command;
        throw new Error(`unhandled command ${JSON.stringify(unhandled)}`);
      }
    }
  },

  evolve(state, event) {
    const members = new Map(state.members);
    switch (event.type) {
      case 'MemberAdded':
      case 'MemberRoleChanged':
        members.set(event.data.userId, event.data.role);
        return { members };
      case 'MemberRemoved':
        members.delete(event.data.userId);
        return { members };
      default:
        return state;
    }
  },
};

/**
 * Only an owner hands out, changes or takes away the owner role; engineers manage every other
 * role. `currentRole` is the target's role before the change (undefined when not yet a member),
 * `newRole` the role after it (undefined for a removal).
 */
export function mayChangeMembership(actorRole: Role | undefined, currentRole: Role | undefined, newRole: Role | undefined): boolean {
  if (actorRole === 'owner') return true;
  if (actorRole !== 'engineer') return false;
  return currentRole !== 'owner' && newRole !== 'owner';
}
