export { heuristicsProjection } from './projection.ts';
export * from './queries.ts';
