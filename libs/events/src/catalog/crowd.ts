import { z } from 'zod';
import { defineEvent, type EventOf } from '../catalog.ts';
import { span } from './labeling.ts';

/**
 * Crowd links: a revocable, expiring link that lets people without an account label the
 * records of one saved slice of one project, under a pseudonym, up to a quota of records each.
 *
 * One stream per link, `crowd-link:<linkId>`, holds everything about it: creation, revocation,
 * every holder who joined and every crowd answer. Appends use the stream's revision, so the
 * quota per holder and revocation are decided on a consistent state (no read model lag).
 * The link id is derived from the token's hash: the server finds the stream from the token alone.
 * Only SHA-256 hashes of the link token and of each holder's credential are stored.
 */
export const crowdLinkStreamId = (linkId: string) => `crowd-link:${linkId}`;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
const isoTime = z.iso.datetime({ offset: true });
const taskId = z.string().min(1).max(64);

export const CrowdLinkCreated = defineEvent({
  type: 'CrowdLinkCreated',
  schema: z.object({
    linkId: z.uuid(),
    projectId: z.uuid(),
    /** the saved slice whose records the crowd labels (resolved when records are handed out: a deleted slice ends the link) */
    sliceId: z.string().min(1).max(64),
    /** one labeling task, or null for every task of the project */
    taskId: taskId.nullable(),
    name: z.string().trim().min(1).max(100),
    /** records each holder may label */
    quota: z.number().int().min(1).max(10_000),
    expiresAt: isoTime,
    tokenHash: sha256Hex,
    /** what the list shows to recognise the link */
    prefix: z.string().min(1).max(16),
  }),
});
export const CrowdLinkRevoked = defineEvent({
  type: 'CrowdLinkRevoked',
  schema: z.object({ linkId: z.uuid(), projectId: z.uuid() }),
});
/** Someone opened the link: a pseudonymous holder with their own credential (hash only). */
export const CrowdHolderJoined = defineEvent({
  type: 'CrowdHolderJoined',
  schema: z.object({
    linkId: z.uuid(),
    projectId: z.uuid(),
    holderId: z.uuid(),
    pseudonym: z.string().regex(/^crowd-[0-9a-f]{4,12}$/),
    tokenHash: sha256Hex,
  }),
});
/** A holder's complete answer for one task on one record (replaces their previous one); source `crowd`. */
export const CrowdRecordLabeled = defineEvent({
  type: 'CrowdRecordLabeled',
  schema: z.object({
    linkId: z.uuid(),
    projectId: z.uuid(),
    holderId: z.uuid(),
    pseudonym: z.string().regex(/^crowd-[0-9a-f]{4,12}$/),
    recordId: z.string().min(1).max(512),
    taskId,
    labelIds: z.array(z.string().min(1).max(64)),
    spans: z.array(span),
  }),
});

export type CrowdLinkCreated = EventOf<typeof CrowdLinkCreated>;
export type CrowdLinkRevoked = EventOf<typeof CrowdLinkRevoked>;
export type CrowdHolderJoined = EventOf<typeof CrowdHolderJoined>;
export type CrowdRecordLabeled = EventOf<typeof CrowdRecordLabeled>;
export type CrowdEvent = CrowdLinkCreated | CrowdLinkRevoked | CrowdHolderJoined | CrowdRecordLabeled;

export const crowdEvents = [CrowdLinkCreated, CrowdLinkRevoked, CrowdHolderJoined, CrowdRecordLabeled] as const;
