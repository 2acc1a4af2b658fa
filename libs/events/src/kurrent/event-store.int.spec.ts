import { KurrentDBClient } from '@kurrent/kurrentdb-client';
import { describe, it } from 'vitest';
import { kurrentContract } from './contract-setup.ts';

/**
 * The EventStore contract against a real KurrentDB / EventStoreDB server (≥ 25.1 for
 * multi-stream transactions), e.g. EVENTSTORE_URL=kurrentdb://127.0.0.1:2113?tls=false.
 * Each run writes fresh random stream names, so a shared server needs no cleanup.
 */
const url = process.env.EVENTSTORE_URL;
const reason = 'EVENTSTORE_URL is not set, and no KurrentDB server can run on this machine';

if (url) {
  kurrentContract(`kurrentdb server at ${new URL(url).host}`, () => KurrentDBClient.connectionString(url));
} else {
  console.warn(`EventStore contract: kurrentdb skipped: ${reason}`);
  describe.skip(`EventStore contract: kurrentdb server (skipped: ${reason})`, () => {
    it('runs the whole contract suite when EVENTSTORE_URL points at a server', () => undefined);
  });
}
