export { KurrentEventStore, type KurrentClient, type KurrentEventStoreOptions } from './event-store.ts';
