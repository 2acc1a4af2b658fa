export * from './permissions.ts';
export * from './decider.ts';
export * from './invitation.ts';
