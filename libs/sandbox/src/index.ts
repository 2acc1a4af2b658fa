export type {
  HeuristicKind,
  HeuristicLanguage,
  HeuristicSource,
  SandboxRecord,
  Token,
  AttributeValue,
  Span,
  Vote,
  LookupList,
  SandboxLimits,
  HeuristicRunner,
  RecordLines,
  SparseVotes,
  HeuristicErrorKind,
  HeuristicErrorInfo,
} from './types.ts';
export { HeuristicError, DEFAULT_LIMITS, linesToRecords } from './types.ts';
export { compileLookup, createLookupListRunner, lookupRegexSource } from './lookup.ts';
export type { LookupMatch, LookupMatcher, LookupListHeuristic } from './lookup.ts';
export { PythonPool, defaultPythonPool, closeDefaultPythonPool, detectNetworkIsolation } from './python-pool.ts';
export type { PythonPoolOptions, NetworkIsolation } from './python-pool.ts';
export { templates } from './templates.ts';
export { createRunner } from './create-runner.ts';
export type { RunnerOptions } from './create-runner.ts';
