import { jsonEvent } from '@kurrent/kurrentdb-client';
import { contractCatalog, eventStoreContract } from '../testing/contract.ts';
import { KurrentEventStore, type KurrentClient } from './event-store.ts';

/** KurrentDB keeps no index of event ids across streams: it deduplicates a retried append within its stream only. */
export const KURRENT_DIFFERENCES = {
  eventIdsUniqueAcrossStreams: 'KurrentDB deduplicates event ids only within a stream (a retried append), it has no log-wide id index',
};

/** Runs the EventStore contract suite on a KurrentEventStore over `client()`. */
export function kurrentContract(name: string, client: () => KurrentClient): void {
  let store: KurrentEventStore;
  let raw: KurrentClient;
  eventStoreContract(name, {
    async open() {
      raw = client();
      store = await KurrentEventStore.withClient(raw, { catalog: contractCatalog });
      return store;
    },
    async close() {
      await store.close();
    },
    async writeRawV1Note(streamId, text) {
      // an event as an older build wrote it: schema 1 in its metadata, the v1 field name in its data
      await raw.appendToStream(streamId, jsonEvent({ type: 'ContractNoted', data: { text }, metadata: { actor: 'legacy', at: '2020-01-01T00:00:00.000Z', schema: '1' } }), {
        streamState: 'no_stream',
      });
    },
    differences: KURRENT_DIFFERENCES,
  });
}
