export * from './queries.ts';
export { labelingConfigProjection } from './config-projection.ts';
export { recordLabelsProjection } from './record-labels-projection.ts';
