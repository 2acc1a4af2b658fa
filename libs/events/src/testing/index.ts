export * from './contract.ts';
export * from './databases.ts';
