import type { Projection } from '@refinery/projector';
import { normalizeEmail, type ApiTokenEvent, type InvitationEvent, type MembershipEvent, type Recorded, type UserEvent } from '@refinery/events';

/** Accounts, API tokens and invitations: what sign-in and token authentication look up. */
export const identityProjection: Projection = {
  name: 'identity',
  version: 1,
  handles: ['UserRegistered', 'UserPasswordChanged', 'ApiTokenCreated', 'ApiTokenRevoked', 'UserInvited', 'InvitationAccepted'],
  async setup(sql) {
    await sql.exec(`
      create table if not exists rm_users (
        id                uuid primary key,
        email             text not null,
        email_normalized  text not null unique,
        display_name      text not null,
        password_hash     jsonb,
        admin             boolean not null,
        created_at        timestamptz not null
      );
      create table if not exists rm_api_tokens (
        id          uuid primary key,
        user_id     uuid not null,
        name        text not null,
        token_hash  text not null unique,
        prefix      text not null,
        created_at  timestamptz not null,
        expires_at  timestamptz,
        revoked_at  timestamptz
      );
      create index if not exists rm_api_tokens_user on rm_api_tokens (user_id, created_at);
      create table if not exists rm_invitations (
        id           uuid primary key,
        email        text not null,
        token_hash   text not null unique,
        project_id   uuid,
        role         text,
        invited_by   text not null,
        created_at   timestamptz not null,
        expires_at   timestamptz not null,
        accepted_by  uuid,
        accepted_at  timestamptz
      );
    `);
  },
  async reset(sql) {
    await sql.exec('delete from rm_users; delete from rm_api_tokens; delete from rm_invitations;');
  },
  async apply(tx, events) {
    for (const e of events as readonly Recorded<UserEvent | ApiTokenEvent | InvitationEvent>[]) {
      switch (e.type) {
        case 'UserRegistered':
          await tx.query(
            `insert into rm_users (id, email, email_normalized, display_name, password_hash, admin, created_at)
             values ($1, $2, $3, $4, $5::jsonb, $6, $7) on conflict (id) do nothing`,
            [e.data.userId, e.data.email, normalizeEmail(e.data.email), e.data.displayName, e.data.passwordHash ? JSON.stringify(e.data.passwordHash) : null, e.data.admin, e.meta.at],
          );
          break;
        case 'UserPasswordChanged':
          await tx.query('update rm_users set password_hash = $2::jsonb where id = $1', [e.data.userId, JSON.stringify(e.data.passwordHash)]);
          break;
        case 'ApiTokenCreated':
          await tx.query(
            `insert into rm_api_tokens (id, user_id, name, token_hash, prefix, created_at, expires_at)
             values ($1, $2, $3, $4, $5, $6, $7) on conflict (id) do nothing`,
            [e.data.tokenId, e.data.userId, e.data.name, e.data.tokenHash, e.data.prefix, e.meta.at, e.data.expiresAt],
          );
          break;
        case 'ApiTokenRevoked':
          await tx.query('update rm_api_tokens set revoked_at = coalesce(revoked_at, $2) where id = $1', [e.data.tokenId, e.meta.at]);
          break;
        case 'UserInvited':
          await tx.query(
            `insert into rm_invitations (id, email, token_hash, project_id, role, invited_by, created_at, expires_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (id) do nothing`,
            [e.data.invitationId, e.data.email, e.data.tokenHash, e.data.projectId, e.data.role, e.meta.actor, e.meta.at, e.data.expiresAt],
          );
          break;
        case 'InvitationAccepted':
          await tx.query('update rm_invitations set accepted_by = $2, accepted_at = coalesce(accepted_at, $3) where id = $1', [
            e.data.invitationId,
            e.data.userId,
            e.meta.at,
          ]);
          break;
      }
    }
  },
};

/** Who is in which project with which role: read on every project-scoped request. */
export const membershipsProjection: Projection = {
  name: 'memberships',
  version: 1,
  handles: ['MemberAdded', 'MemberRoleChanged', 'MemberRemoved'],
  async setup(sql) {
    await sql.exec(`
      create table if not exists rm_memberships (
        project_id  uuid not null,
        user_id     uuid not null,
        role        text not null,
        added_at    timestamptz not null,
        primary key (project_id, user_id)
      );
      create index if not exists rm_memberships_user on rm_memberships (user_id);
    `);
  },
  async reset(sql) {
    await sql.exec('delete from rm_memberships');
  },
  async apply(tx, events) {
    for (const e of events as readonly Recorded<MembershipEvent>[]) {
      switch (e.type) {
        case 'MemberAdded':
          await tx.query(
            `insert into rm_memberships (project_id, user_id, role, added_at) values ($1, $2, $3, $4)
             on conflict (project_id, user_id) do update set role = excluded.role`,
            [e.data.projectId, e.data.userId, e.data.role, e.meta.at],
          );
          break;
        case 'MemberRoleChanged':
          await tx.query('update rm_memberships set role = $3 where project_id = $1 and user_id = $2', [e.data.projectId, e.data.userId, e.data.role]);
          break;
        case 'MemberRemoved':
          await tx.query('delete from rm_memberships where project_id = $1 and user_id = $2', [e.data.projectId, e.data.userId]);
          break;
      }
    }
  },
};
