import { describe, expect, it } from 'vitest';
import { DomainError } from '../errors.ts';
import { crowdLinkRefusal, crowdRecordsDone, decideCrowdLabel, emptyCrowdLink, evolveCrowdLink, type CrowdLinkState } from './link.ts';

const linkId = '00000000-0000-4000-8000-000000000001';
const projectId = '00000000-0000-4000-8000-000000000002';
const holderId = '00000000-0000-4000-8000-000000000003';
const now = new Date('2026-11-27T12:00:00Z');

function given(...events: { type: string; data: unknown }[]): CrowdLinkState {
  return events.reduce(evolveCrowdLink, emptyCrowdLink());
}
const created = (over: Record<string, unknown> = {}) => ({
  type: 'CrowdLinkCreated',
  data: { linkId, projectId, sliceId: 's', taskId: 't', name: 'n', quota: 2, expiresAt: '2026-11-28T00:00:00.000Z', tokenHash: 'a'.repeat(64), prefix: 'rfyl_abcd', ...over },
});
const joined = { type: 'CrowdHolderJoined', data: { linkId, projectId, holderId, pseudonym: 'crowd-abcdef', tokenHash: 'b'.repeat(64) } };
const labeled = (recordId: string, labelIds: string[] = ['x']) => ({ type: 'CrowdRecordLabeled', data: { linkId, projectId, holderId, pseudonym: 'crowd-abcdef', recordId, taskId: 't', labelIds, spans: [] } });
const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e instanceof DomainError ? e.code : String(e);
  }
  return 'no error';
};

describe('crowd link decider', () => {
  it('labels up to the quota per holder; re-answering a record is free; an empty answer frees the record', () => {
    const s = given(created(), joined, labeled('r1'), labeled('r2'));
    expect(crowdRecordsDone(s.holders.get(holderId)!)).toBe(2);
    expect(code(() => decideCrowdLabel(s, holderId, { recordId: 'r3', taskId: 't', labelIds: ['x'], spans: [] }, now))).toBe('crowd_quota_reached');
    expect(decideCrowdLabel(s, holderId, { recordId: 'r1', taskId: 't', labelIds: ['y'], spans: [] }, now)).toHaveLength(1);
    const freed = evolveCrowdLink(s, labeled('r1', []));
    expect(crowdRecordsDone(freed.holders.get(holderId)!)).toBe(1);
    expect(decideCrowdLabel(freed, holderId, { recordId: 'r3', taskId: 't', labelIds: ['x'], spans: [] }, now)[0]!.data).toMatchObject({ pseudonym: 'crowd-abcdef', recordId: 'r3' });
  });

  it('refuses other tasks, unknown holders, revoked and expired links', () => {
    const s = given(created(), joined);
    expect(code(() => decideCrowdLabel(s, holderId, { recordId: 'r1', taskId: 'other', labelIds: ['x'], spans: [] }, now))).toBe('task_outside_link');
    expect(code(() => decideCrowdLabel(s, projectId, { recordId: 'r1', taskId: 't', labelIds: ['x'], spans: [] }, now))).toBe('crowd_holder_not_found');
    expect(crowdLinkRefusal(s, now)).toBeUndefined();
    expect(crowdLinkRefusal(s, new Date('2026-11-28T00:00:00Z'))?.code).toBe('crowd_link_expired');
    expect(crowdLinkRefusal(evolveCrowdLink(given(created(), joined), { type: 'CrowdLinkRevoked', data: { linkId, projectId } }), now)?.code).toBe('crowd_link_revoked');
    expect(crowdLinkRefusal(emptyCrowdLink(), now)?.code).toBe('crowd_link_not_found');
    // a link for every task accepts any task
    expect(decideCrowdLabel(given(created({ taskId: null }), joined), holderId, { recordId: 'r1', taskId: 'other', labelIds: ['x'], spans: [] }, now)).toHaveLength(1);
  });
});
