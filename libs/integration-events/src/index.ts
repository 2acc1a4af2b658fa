export * from './schemas.ts';
export * from './envelope.ts';
