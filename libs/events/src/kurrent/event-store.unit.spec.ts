import { kurrentContract } from './contract-setup.ts';
import { memoryKurrentClient } from './memory-client.ts';

// The adapter's mapping (stream states, idempotent retries, $all positions and paging, system
// events, transactions as multi-stream appends, upcasting from metadata) through the contract
// suite, on an in-memory stand-in for the server. The same suite runs against a real KurrentDB
// server in event-store.int.spec.ts when EVENTSTORE_URL is set.
kurrentContract('kurrentdb adapter on an in-memory stand-in', memoryKurrentClient);
