export * from './errors.ts';
export { openAsOf, closeAsOfViews, resolveAsOfPoint, replayInto, AS_OF_CACHE_SIZE, type AsOfPoint, type AsOfView, type AsOfSource, type AsOfOptions, type ResolvedPoint } from './as-of.ts';
export { readRawEvents, toRecorded, artifactReferences, type RawEvent, type LogRange } from './log.ts';
export { historyProjection } from './history/projection.ts';
export { readHistory, HISTORY_MAX_LIMIT, InvalidCursorError, type HistoryEntry, type HistoryPage, type HistoryQuery } from './history/queries.ts';
export { rebuildReadModels, productProjections, type RebuildProgress, type RebuildResult } from './replay.ts';
export {
  exportLog,
  verifyLog,
  importLog,
  waitForHead,
  canonicalJson,
  lineHash,
  ExportFileError,
  LOG_EXPORT_FORMAT,
  type ExportLine,
  type ExportResult,
  type ExportSource,
  type VerifyReport,
  type VerifyProblem,
  type ImportResult,
} from './export.ts';
