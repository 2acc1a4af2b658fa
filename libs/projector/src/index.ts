export * from './projection.ts';
export * from './runner.ts';
export * from './wait.ts';
export * from './reactor.ts';
export * from './bulk.ts';
