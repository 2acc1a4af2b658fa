/**
 * Authentication behind one small interface, so the identity provider is configuration:
 * the built-in accounts by default (`BuiltInIdentity`), Ory Kratos when `ORY_SDK_URL` is set
 * (`KratosIdentity`: forwards the request's `Cookie` or `X-Session-Token` to Kratos'
 * `GET /sessions/whoami` and maps `identity.id` to a refinery user, registered once with
 * `UserRegistered { origin: 'external', passwordHash: null }`). Roles, memberships and API tokens
 * stay refinery's own in either case; only "who is this?" is delegated (docs/identity.md).
 */
export interface AuthRequest {
  readonly method: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface AuthenticatedUser {
  userId: string;
  displayName: string;
}

export interface Authentication extends AuthenticatedUser {
  email: string;
  /** site administrator */
  admin: boolean;
  /** how the request proved who it is */
  method: 'session' | 'api-token' | 'external';
  /** cookie sessions: the session id and the CSRF token unsafe requests must echo in X-CSRF-Token */
  session?: { id: string; csrfToken: string; expiresAt: Date };
  /** API tokens: which one */
  tokenId?: string;
}

export interface IdentityProvider {
  readonly name: string;
  /**
   * Who made the request, or undefined when it carries no valid credentials (none, unknown,
   * expired or revoked). Never throws for bad credentials: the caller answers 401.
   */
  authenticate(req: AuthRequest): Promise<Authentication | undefined>;
}

export function header(req: AuthRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
