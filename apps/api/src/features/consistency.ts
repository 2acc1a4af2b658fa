import { comparePositions, parsePosition } from '@refinery/events';
import { z } from 'zod';
import type { ApiContext } from '../context.ts';
import { HttpError } from '../http/errors.ts';

export const afterQuery = z
  .string()
  .regex(/^\d{1,20}\/\d{1,20}$/, 'a log position as returned by a command, e.g. "1234/5678"')
  .optional()
  .describe('wait (bounded) until the read model has caught up with this log position: read your own writes');

/** Read-your-writes: wait until the projections behind a query have passed `after`. */
export async function readAfter(ctx: ApiContext, after: string | undefined, projections: readonly string[]): Promise<void> {
  if (!after) return;
  const result = await ctx.waiter.waitFor(after, projections, ctx.config.readWaitMs);
  if (result.caughtUp) return;
  // Compared with the newest committed event, not head(): a position the log holds but cannot
  // hand out yet (an older transaction on the cluster is still open) is "behind", not "invalid".
  const head = await (ctx.store.newestCommitted ? ctx.store.newestCommitted() : ctx.store.head());
  if (comparePositions(parsePosition(after), parsePosition(head)) > 0) {
    throw new HttpError(400, 'position_not_in_log', `position ${after} is beyond the end of the log (${head})`, { after, head });
  }
  throw new HttpError(503, 'read_model_behind', `the read model has not reached position ${after} within ${ctx.config.readWaitMs} ms; retry`, {
    after,
    checkpoints: result.checkpoints,
  });
}
