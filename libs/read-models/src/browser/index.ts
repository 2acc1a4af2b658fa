export * from './filter-sql.ts';
export * from './search.ts';
export * from './slices.ts';
