export * from './matrix.ts';
export * from './nominal.ts';
export * from './spans.ts';
