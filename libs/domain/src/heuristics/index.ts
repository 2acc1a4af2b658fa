export * from './decider.ts';
export * from './stats.ts';
