import type { CrowdEvent, Span } from '@refinery/events';
import { DomainError } from '../errors.ts';

/** Everything the server needs to decide about one crowd link, folded from its own stream. */
export interface CrowdLinkState {
  link?: {
    linkId: string;
    projectId: string;
    sliceId: string;
    taskId: string | null;
    name: string;
    quota: number;
    expiresAt: string;
    tokenHash: string;
    revoked: boolean;
  };
  /** key: holder credential hash */
  holdersByToken: Map<string, string>;
  holders: Map<string, CrowdHolder>;
}

export interface CrowdHolder {
  holderId: string;
  pseudonym: string;
  /** record id → task ids answered */
  answered: Map<string, Set<string>>;
}

export const emptyCrowdLink = (): CrowdLinkState => ({ holdersByToken: new Map(), holders: new Map() });

export function evolveCrowdLink(state: CrowdLinkState, event: { type: string; data: unknown }): CrowdLinkState {
  const e = event as CrowdEvent;
  switch (e.type) {
    case 'CrowdLinkCreated':
      state.link = { ...e.data, revoked: false };
      break;
    case 'CrowdLinkRevoked':
      if (state.link) state.link.revoked = true;
      break;
    case 'CrowdHolderJoined':
      state.holders.set(e.data.holderId, { holderId: e.data.holderId, pseudonym: e.data.pseudonym, answered: new Map() });
      state.holdersByToken.set(e.data.tokenHash, e.data.holderId);
      break;
    case 'CrowdRecordLabeled': {
      const holder = state.holders.get(e.data.holderId);
      if (!holder) break;
      const tasks = holder.answered.get(e.data.recordId) ?? new Set<string>();
      if (e.data.labelIds.length || e.data.spans.length) tasks.add(e.data.taskId);
      else tasks.delete(e.data.taskId);
      if (tasks.size) holder.answered.set(e.data.recordId, tasks);
      else holder.answered.delete(e.data.recordId);
      break;
    }
  }
  return state;
}

/** Why a link cannot be used now (401/410 in the API), or undefined when it can. */
export function crowdLinkRefusal(state: CrowdLinkState, now: Date): DomainError | undefined {
  if (!state.link) return new DomainError('not_found', 'crowd_link_not_found', 'no such crowd link', {});
  if (state.link.revoked) return new DomainError('gone', 'crowd_link_revoked', 'this crowd link was revoked by the project', { linkId: state.link.linkId });
  if (Date.parse(state.link.expiresAt) <= now.getTime()) {
    return new DomainError('gone', 'crowd_link_expired', `this crowd link expired at ${state.link.expiresAt}`, { linkId: state.link.linkId, expiresAt: state.link.expiresAt });
  }
  return undefined;
}

/** Records a holder has labeled (any task), which is what the quota counts. */
export const crowdRecordsDone = (holder: CrowdHolder) => holder.answered.size;

/**
 * A holder's answer for a record: refused when the link is not usable, the task is outside the
 * link, or the record would be one more than the quota allows (re-answering a record is free).
 */
export function decideCrowdLabel(
  state: CrowdLinkState,
  holderId: string,
  input: { recordId: string; taskId: string; labelIds: string[]; spans: Span[] },
  now: Date,
): CrowdEvent[] {
  const refused = crowdLinkRefusal(state, now);
  if (refused) throw refused;
  const link = state.link!;
  const holder = state.holders.get(holderId);
  if (!holder) throw new DomainError('not_found', 'crowd_holder_not_found', 'unknown crowd holder', { holderId });
  if (link.taskId !== null && input.taskId !== link.taskId) {
    throw new DomainError('invalid', 'task_outside_link', `this link labels task ${link.taskId} only`, { taskId: input.taskId, allowed: [link.taskId] });
  }
  const empty = input.labelIds.length === 0 && input.spans.length === 0;
  if (!empty && !holder.answered.has(input.recordId) && crowdRecordsDone(holder) >= link.quota) {
    throw new DomainError('conflict', 'crowd_quota_reached', `you have labeled your quota of ${link.quota} records for this link`, { quota: link.quota });
  }
  return [{ type: 'CrowdRecordLabeled', data: { linkId: link.linkId, projectId: link.projectId, holderId, pseudonym: holder.pseudonym, ...input } }];
}
