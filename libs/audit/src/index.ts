export * from './errors.ts';
export { openAsOf, closeAsOfViews, resolveAsOfPoint, replayInto, AS_OF_CACHE_SIZE, type AsOfPoint, type AsOfView, type AsOfSource, type AsOfOptions, type ResolvedPoint } from './as-of.ts';
export { readRawEvents, toRecorded, artifactReferences, type RawEvent, type LogRange } from './log.ts';
