export * from './filter.ts';
export * from './slice-decider.ts';
