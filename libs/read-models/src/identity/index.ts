export { identityProjection, membershipsProjection } from './projection.ts';
export * from './queries.ts';
