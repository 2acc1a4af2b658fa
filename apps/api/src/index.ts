export { createApiApp, apiRoutes, type ApiAppOptions } from './app.ts';
export { DEFAULT_API_CONFIG, type ApiConfig, type ApiContext } from './context.ts';
export { openApiDocument } from './http/openapi.ts';
export type { AnyRoute, Permission } from './http/routes.ts';
export { bootstrapAnnouncement, startApiServer, type ApiServer } from './server.ts';
