export * from './decider.ts';
export * from './stats.ts';
export * from './crowd.ts';
