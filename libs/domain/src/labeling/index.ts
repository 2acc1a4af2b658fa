export * from './tokenize.ts';
export * from './config.ts';
export * from './config-decider.ts';
export * from './record-decider.ts';
export * from './reference.ts';
