import type { EventEmitter } from 'node:events';
import type { ReadAllOptions, ReadAllResult, Subscription, SubscriptionOptions } from './store.ts';

/**
 * The subscription loop both backends share: read a page after the checkpoint, hand it to the
 * handler (backpressure: the next read waits for it), move the checkpoint, and sleep until the
 * poll interval passes or `appended` fires. An append during a read sets `dirty`, so its wake-up
 * is not lost.
 */
export function pollingSubscription(
  readAll: (after: string, options?: ReadAllOptions) => Promise<ReadAllResult>,
  appended: EventEmitter,
  after: string,
  options: SubscriptionOptions,
): Subscription {
  let checkpoint = after;
  let stopped = false;
  let wake: (() => void) | undefined;
  let dirty = false;
  const onAppended = () => {
    dirty = true;
    wake?.();
  };
  appended.on('appended', onAppended);
  const pollMs = options.pollIntervalMs ?? 250;

  const loop = (async () => {
    while (!stopped) {
      dirty = false;
      try {
        const batch = await readAll(checkpoint, options);
        if (batch.events.length > 0 || batch.checkpoint !== checkpoint) {
          await options.handler(batch);
          checkpoint = batch.checkpoint;
        }
        if (batch.events.length === (options.limit ?? 1000)) continue;
      } catch (err) {
        if (stopped) break;
        options.onError?.(err);
      }
      if (stopped) break;
      if (dirty) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  })();

  return {
    get checkpoint() {
      return checkpoint;
    },
    stop: async () => {
      stopped = true;
      wake?.();
      appended.off('appended', onAppended);
      await loop;
    },
  };
}
