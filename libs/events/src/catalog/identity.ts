import { z } from 'zod';
import { defineEvent, type EventOf } from '../catalog.ts';

/**
 * Identity (built-in accounts), API tokens, invitations and project membership.
 *
 * Streams:
 * - `user:<userId>`: the account (registration, password changes);
 * - `user-email:<normalized email>`: a one-event stream appended with `no_stream` in the same
 *   transaction as the registration, so an e-mail address belongs to one account even with
 *   concurrent sign-ups on several API nodes;
 * - `api-token:<tokenId>`: a personal API token (created, revoked);
 * - `invitation:<invitationId>`: an invitation link (invited, accepted);
 * - `membership:<projectId>`: who is in a project with which role (audited: every change is an event).
 *
 * Credentials never appear in clear: passwords are scrypt hashes (salt + parameters + hash),
 * tokens are SHA-256 hashes of 256-bit random values. The hashes are still sensitive (offline
 * guessing of weak passwords): `SENSITIVE_EVENT_FIELDS` lists what a relay to other systems
 * (Kafka) must strip.
 */
export const userStreamId = (userId: string) => `user:${userId}`;
export const userEmailStreamId = (email: string) => `user-email:${normalizeEmail(email)}`;
export const apiTokenStreamId = (tokenId: string) => `api-token:${tokenId}`;
export const invitationStreamId = (invitationId: string) => `invitation:${invitationId}`;
export const membershipStreamId = (projectId: string) => `membership:${projectId}`;

/** E-mail addresses compare case-insensitively and without surrounding blanks. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export const projectRole = z.enum(['owner', 'engineer', 'expert', 'annotator']);
export type ProjectRoleName = z.infer<typeof projectRole>;

/** Deliberately permissive (`owner@localhost` and intranet hosts are fine): one `@`, no blanks. */
export const emailAddress = z.string().trim().max(254).regex(/^[^\s@]+@[^\s@]+$/, 'an e-mail address such as name@example.com');
const email = emailAddress;
const displayName = z.string().trim().min(1).max(100);
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
const isoTime = z.iso.datetime({ offset: true });

/** An scrypt hash with everything needed to verify it later, even after the defaults change. */
export const passwordHash = z.object({
  algorithm: z.literal('scrypt'),
  /** CPU/memory cost (a power of two) */
  N: z.number().int().positive(),
  r: z.number().int().positive(),
  p: z.number().int().positive(),
  keyLength: z.number().int().min(16).max(256),
  /** base64 */
  salt: z.string().min(16).max(200),
  /** base64 */
  hash: z.string().min(16).max(400),
});
export type PasswordHash = z.infer<typeof passwordHash>;

export const UserRegistered = defineEvent({
  type: 'UserRegistered',
  schema: z.object({
    userId: z.uuid(),
    email,
    displayName,
    /** null for accounts of an external identity provider (Ory Kratos) */
    passwordHash: passwordHash.nullable(),
    /** site administrator (the first owner): may invite people to the site without a project */
    admin: z.boolean(),
    /** how the account came to be */
    origin: z.enum(['bootstrap', 'invitation', 'external']),
    invitationId: z.uuid().nullable(),
  }),
});
/** Reserves an e-mail address for one account (stream `user-email:<email>`, appended with `no_stream`). */
export const UserEmailClaimed = defineEvent({
  type: 'UserEmailClaimed',
  schema: z.object({ userId: z.uuid(), email }),
});
export const UserPasswordChanged = defineEvent({
  type: 'UserPasswordChanged',
  schema: z.object({ userId: z.uuid(), passwordHash }),
});

export const ApiTokenCreated = defineEvent({
  type: 'ApiTokenCreated',
  schema: z.object({
    tokenId: z.uuid(),
    userId: z.uuid(),
    name: z.string().trim().min(1).max(100),
    /** SHA-256 (hex) of the whole token; the token itself is shown once and never stored */
    tokenHash: sha256Hex,
    /** the first characters of the token, to recognise it in a list */
    prefix: z.string().max(16),
    expiresAt: isoTime.nullable(),
  }),
});
export const ApiTokenRevoked = defineEvent({
  type: 'ApiTokenRevoked',
  schema: z.object({ tokenId: z.uuid(), userId: z.uuid() }),
});

export const UserInvited = defineEvent({
  type: 'UserInvited',
  schema: z.object({
    invitationId: z.uuid(),
    email,
    /** SHA-256 (hex) of the link token */
    tokenHash: sha256Hex,
    /** the project the invitee joins on acceptance, with this role; null for a site invitation */
    projectId: z.uuid().nullable(),
    role: projectRole.nullable(),
    expiresAt: isoTime,
  }),
});
export const InvitationAccepted = defineEvent({
  type: 'InvitationAccepted',
  schema: z.object({ invitationId: z.uuid(), userId: z.uuid() }),
});

export const MemberAdded = defineEvent({
  type: 'MemberAdded',
  schema: z.object({ projectId: z.uuid(), userId: z.uuid(), role: projectRole }),
});
export const MemberRoleChanged = defineEvent({
  type: 'MemberRoleChanged',
  schema: z.object({ projectId: z.uuid(), userId: z.uuid(), role: projectRole, previousRole: projectRole }),
});
export const MemberRemoved = defineEvent({
  type: 'MemberRemoved',
  schema: z.object({ projectId: z.uuid(), userId: z.uuid(), previousRole: projectRole }),
});

export type UserRegistered = EventOf<typeof UserRegistered>;
export type UserEmailClaimed = EventOf<typeof UserEmailClaimed>;
export type UserPasswordChanged = EventOf<typeof UserPasswordChanged>;
export type ApiTokenCreated = EventOf<typeof ApiTokenCreated>;
export type ApiTokenRevoked = EventOf<typeof ApiTokenRevoked>;
export type UserInvited = EventOf<typeof UserInvited>;
export type InvitationAccepted = EventOf<typeof InvitationAccepted>;
export type MemberAdded = EventOf<typeof MemberAdded>;
export type MemberRoleChanged = EventOf<typeof MemberRoleChanged>;
export type MemberRemoved = EventOf<typeof MemberRemoved>;

export type UserEvent = UserRegistered | UserPasswordChanged;
export type ApiTokenEvent = ApiTokenCreated | ApiTokenRevoked;
export type InvitationEvent = UserInvited | InvitationAccepted;
export type MembershipEvent = MemberAdded | MemberRoleChanged | MemberRemoved;
export type IdentityEvent = UserEvent | UserEmailClaimed | ApiTokenEvent | InvitationEvent | MembershipEvent;

export const identityEvents = [
  UserRegistered,
  UserEmailClaimed,
  UserPasswordChanged,
  ApiTokenCreated,
  ApiTokenRevoked,
  UserInvited,
  InvitationAccepted,
  MemberAdded,
  MemberRoleChanged,
  MemberRemoved,
] as const;

/** Fields holding credential hashes: strip them before events leave the product (relays, exports). */
export const SENSITIVE_EVENT_FIELDS: Readonly<Record<string, readonly string[]>> = {
  UserRegistered: ['passwordHash'],
  UserPasswordChanged: ['passwordHash'],
  ApiTokenCreated: ['tokenHash'],
  UserInvited: ['tokenHash'],
  CrowdLinkCreated: ['tokenHash'],
  CrowdHolderJoined: ['tokenHash'],
};
