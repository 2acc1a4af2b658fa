export * from './errors.ts';
export * from './decider.ts';
export * from './project/decider.ts';
export { specFor } from './testing.ts';
export * from './labeling/index.ts';
export * from './membership/index.ts';
export * from './browsing/index.ts';
export * from './heuristics/index.ts';
export * from './weak-supervision/index.ts';
