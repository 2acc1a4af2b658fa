export { weakSupervisionProjection } from './projection.ts';
export * from './queries.ts';
