import type { InvitationEvent } from '@refinery/events';
import { DomainError } from '../errors.ts';
import type { Decider } from '../decider.ts';
import type { Role } from './permissions.ts';

/** An invitation link on the `invitation:<invitationId>` stream: pending until accepted once, or expired. */
export type InvitationCommand =
  | {
      type: 'InviteUser';
      invitationId: string;
      email: string;
      tokenHash: string;
      projectId: string | null;
      role: Role | null;
      expiresAt: string;
    }
  | { type: 'AcceptInvitation'; invitationId: string; userId: string; now: string };

export type InvitationState =
  | { status: 'none' }
  | { status: 'pending' | 'accepted'; invitationId: string; email: string; projectId: string | null; role: Role | null; expiresAt: string };

export const invitationDecider: Decider<InvitationCommand, InvitationState, InvitationEvent> = {
  initialState: { status: 'none' },

  decide(command, state) {
    switch (command.type) {
      case 'InviteUser': {
        if (state.status !== 'none') {
          throw new DomainError('conflict', 'invitation_exists', `invitation ${command.invitationId} already exists`, { invitationId: command.invitationId });
        }
        if ((command.projectId === null) !== (command.role === null)) {
          throw new DomainError('invalid', 'invalid_invitation', 'an invitation to a project names both the project and the role', {
            projectId: command.projectId,
            role: command.role,
          });
        }
        const { type: _type, ...data } = command;
        return [{ type: 'UserInvited', data }];
      }
      case 'AcceptInvitation': {
        if (state.status === 'none') {
          throw new DomainError('not_found', 'invitation_not_found', 'this invitation does not exist', { invitationId: command.invitationId });
        }
        if (state.status === 'accepted') {
          throw new DomainError('gone', 'invitation_used', 'this invitation has already been accepted', { invitationId: command.invitationId });
        }
        if (Date.parse(command.now) >= Date.parse(state.expiresAt)) {
          throw new DomainError('gone', 'invitation_expired', `this invitation expired at ${state.expiresAt}; ask for a new one`, {
            invitationId: command.invitationId,
            expiresAt: state.expiresAt,
          });
        }
        return [{ type: 'InvitationAccepted', data: { invitationId: command.invitationId, userId: command.userId } }];
      }
      default: {
        const unhandled: never = command;
        throw new Error(`unhandled command ${JSON.stringify(unhandled)}`);
      }
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'UserInvited':
        return {
          status: 'pending',
          invitationId: event.data.invitationId,
          email: event.data.email,
          projectId: event.data.projectId,
          role: event.data.role,
          expiresAt: event.data.expiresAt,
        };
      case 'InvitationAccepted':
        return state.status === 'pending' ? { ...state, status: 'accepted' } : state;
      default:
        return state;
    }
  },
};
