export { heuristicsProjection } from './projection.ts';
export * from './queries.ts';
export { writeHeuristicColumn, rebuildHeuristicColumn, loadHeuristicColumns, recordIndex } from './columns.ts';
export type { LoadedColumn, RecordIndex } from './columns.ts';
