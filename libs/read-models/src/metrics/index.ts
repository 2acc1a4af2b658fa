export { metricsProjection } from './projection.ts';
export * from './queries.ts';
export * from './agreement.ts';
