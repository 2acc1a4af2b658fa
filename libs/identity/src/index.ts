export * from './provider.ts';
export * from './password.ts';
export * from './tokens.ts';
export * from './cookies.ts';
export * from './rate-limit.ts';
export * from './sessions.ts';
export { AuthenticationError, BuiltInIdentity, type BootstrapResult, type BuiltInIdentityOptions, type ClientInfo, type SignedIn } from './service.ts';
export * from './kratos.ts';
export { KratosIdentity, userIdOfKratosIdentity, type KratosIdentityOptions } from './kratos-identity.ts';
