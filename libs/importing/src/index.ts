export type {
  AnalyzeOptions,
  AttributeSpec,
  AttributeType,
  AttributeValue,
  ImportErrorCode,
  ImportFormat,
  ImportLimits,
  ImportPlan,
  ImportedRecord,
} from './types.ts';
export { DEFAULT_IMPORT_LIMITS, ImportError, formatFromContentType } from './types.ts';
export { analyzeImport } from './analyze.ts';
export { readRecords } from './read.ts';
