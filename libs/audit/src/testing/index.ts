export * from './seed.ts';
export * from './tables.ts';
