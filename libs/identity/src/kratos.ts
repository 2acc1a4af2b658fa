import { Configuration, FrontendApi, type Session } from '@ory/client';
import { CSRF_COOKIE, parseCookies, SESSION_COOKIE } from './cookies.ts';
import { header, type AuthRequest } from './provider.ts';
import { sha256Hex } from './tokens.ts';

/**
 * Ory Kratos answered with something other than "this session" or "no session" (down, a 5xx,
 * a timeout, an answer that is not a session). The API answers 503: the caller's credentials
 * may be fine, refinery just cannot tell now.
 */
export class IdentityProviderUnavailableError extends Error {
  readonly provider = 'kratos';
  constructor(message: string) {
    super(message);
    this.name = 'IdentityProviderUnavailableError';
  }
}

export interface KratosOptions {
  /** Kratos' public API as this server reaches it (ORY_SDK_URL), e.g. http://kratos:4433 */
  sdkUrl: string;
  /** the same API as browsers reach it, for sign-in links (ORY_BROWSER_URL; default sdkUrl) */
  browserUrl?: string | undefined;
  /** longest a whoami call may take before the request is answered 503 (default 5 s) */
  timeoutMs?: number;
}

/** A Kratos session as refinery uses it: who, until when, and the credential it came with. */
export interface KratosSession {
  sessionId: string;
  identityId: string;
  email: string | undefined;
  displayName: string | undefined;
  /** the session's own end (Kratos `expires_at`); infinity when Kratos does not say */
  expiresAtMs: number;
  /** cookie (a browser: needs CSRF on unsafe methods) or token (X-Session-Token: no ambient credentials) */
  via: 'cookie' | 'token';
  /** SHA-256 of the forwarded credential: the key of the authentication cache */
  credentialHash: string;
}

/** Where people sign in, register and change their password when Kratos owns the accounts. */
export interface KratosLinks {
  provider: 'kratos';
  signInUrl: string;
  registrationUrl: string;
  settingsUrl: string;
  logoutUrl: string;
}

const MAX_CREDENTIAL = 16_384;

/**
 * The part of Kratos' public (frontend) API refinery calls: `GET /sessions/whoami`
 * (`FrontendApi.toSession` of `@ory/client`) with the request's `Cookie` header (minus refinery's
 * own cookies) or its `X-Session-Token`. 200 → the session; 401/403 (no, expired or
 * insufficient session) → none; anything else → `IdentityProviderUnavailableError`.
 */
export class KratosClient {
  private readonly api: FrontendApi;
  readonly links: KratosLinks;

  constructor(options: KratosOptions) {
    const sdkUrl = options.sdkUrl.replace(/\/+$/, '');
    this.api = new FrontendApi(new Configuration({ basePath: sdkUrl, baseOptions: { timeout: options.timeoutMs ?? 5000, maxRedirects: 0 } }));
    const browser = (options.browserUrl ?? sdkUrl).replace(/\/+$/, '');
    this.links = {
      provider: 'kratos',
      signInUrl: `${browser}/self-service/login/browser`,
      registrationUrl: `${browser}/self-service/registration/browser`,
      settingsUrl: `${browser}/self-service/settings/browser`,
      logoutUrl: `${browser}/self-service/logout/browser`,
    };
  }

  /** The Kratos credential a request carries, or undefined (then Kratos is not asked at all). */
  credential(req: AuthRequest): { via: 'cookie' | 'token'; value: string } | undefined {
    const token = header(req, 'x-session-token')?.trim();
    if (token) return token.length <= MAX_CREDENTIAL ? { via: 'token', value: token } : undefined;
    const cookies = parseCookies(header(req, 'cookie'));
    cookies.delete(SESSION_COOKIE);
    cookies.delete(CSRF_COOKIE);
    if (cookies.size === 0) return undefined;
    const forwarded = [...cookies].map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('; ');
    return forwarded.length <= MAX_CREDENTIAL ? { via: 'cookie', value: forwarded } : undefined;
  }

  static credentialHash(credential: { via: 'cookie' | 'token'; value: string }): string {
    return sha256Hex(`kratos-${credential.via}:${credential.value}`);
  }

  async whoami(credential: { via: 'cookie' | 'token'; value: string }): Promise<KratosSession | undefined> {
    let session: Session;
    try {
      const r = await this.api.toSession(credential.via === 'token' ? { xSessionToken: credential.value } : { cookie: credential.value });
      session = r.data;
    } catch (err) {
      // @ory/client rejects with axios errors: `response` when Kratos answered, `code` (ECONNREFUSED, ECONNABORTED…) when not
      const e = err as { response?: { status?: number }; code?: string; message?: string };
      const status = e?.response?.status;
      if (status === 401 || status === 403) return undefined;
      const why = status !== undefined ? `it answered ${status}` : (e?.code ?? e?.message ?? String(err));
      throw new IdentityProviderUnavailableError(`the identity provider (Ory Kratos) could not check the session: ${why}`);
    }
    const identity = session?.identity;
    if (!session || typeof session.id !== 'string' || !identity || typeof identity.id !== 'string' || identity.id === '') {
      throw new IdentityProviderUnavailableError('the identity provider (Ory Kratos) answered whoami without a session identity');
    }
    if (session.active === false) return undefined;
    const expiresAtMs = session.expires_at ? Date.parse(session.expires_at) : Number.POSITIVE_INFINITY;
    if (Number.isNaN(expiresAtMs)) throw new IdentityProviderUnavailableError('the identity provider (Ory Kratos) answered an unreadable expires_at');
    const traits = (identity.traits ?? {}) as Record<string, unknown>;
    return {
      sessionId: session.id,
      identityId: identity.id,
      email: typeof traits['email'] === 'string' ? traits['email'] : undefined,
      displayName: displayNameOf(traits['displayName']) ?? displayNameOf(traits['name']),
      expiresAtMs,
      via: credential.via,
      credentialHash: KratosClient.credentialHash(credential),
    };
  }
}

/** `traits.displayName` (deploy/kratos/identity.schema.json) or `traits.name` as a string, or `{ first, last }` as in Kratos' example schemas. */
function displayNameOf(name: unknown): string | undefined {
  if (typeof name === 'string' && name.trim()) return name.trim().slice(0, 100);
  if (name && typeof name === 'object') {
    const n = name as { first?: unknown; last?: unknown };
    const full = [n.first, n.last].filter((p): p is string => typeof p === 'string' && p.trim() !== '').join(' ').trim();
    if (full) return full.slice(0, 100);
  }
  return undefined;
}
