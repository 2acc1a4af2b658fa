import { z } from 'zod';
import { defineEvent, type EventOf } from '../catalog.ts';

/**
 * Task distribution of a labeling session (on the session's stream, next to
 * `LabelingSessionStarted`): a team session is open to the project's members; each record is to
 * be labeled by `overlap` different annotators; a record someone opened is claimed by them until
 * they stay idle for `claimTimeoutSeconds`. `annotators` (user ids) narrows who of the role
 * `annotator` may work in it (null: every member who may label). Claims themselves are leases in
 * a table, not events (see docs/live.md).
 */
export const LabelingSessionDistributionSet = defineEvent({
  type: 'LabelingSessionDistributionSet',
  schema: z.object({
    projectId: z.uuid(),
    sessionId: z.uuid(),
    overlap: z.number().int().min(1).max(100),
    annotators: z.array(z.string().min(1).max(200)).max(1000).nullable(),
    claimTimeoutSeconds: z.number().int().min(1).max(86_400),
  }),
});

export type LabelingSessionDistributionSet = EventOf<typeof LabelingSessionDistributionSet>;

export const distributionEvents = [LabelingSessionDistributionSet] as const;
