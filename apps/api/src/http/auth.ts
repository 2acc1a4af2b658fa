import type { Request, Response } from 'express';
import type { Role } from '@refinery/domain';
import { CSRF_COOKIE, CSRF_HEADER, IdentityProviderUnavailableError, safeEqual, serializeCookie, SESSION_COOKIE, type Authentication, type BuiltInIdentity, type NewSession } from '@refinery/identity';
import { HttpError } from './errors.ts';
import type { AccessControl } from './routes.ts';
import { CROWD_CREDENTIAL_PREFIX } from '../features/crowd.ts';

/**
 * CSRF protection for cookie sessions: a synchronizer token derived from the session id
 * (nothing stored), handed to the web app in the readable `refinery_csrf` cookie and in the
 * sign-in / `me` answers. Every cookie-authenticated request with an unsafe method must echo it
 * in `X-CSRF-Token`; a cross-site page can neither read the cookie nor set the header. Requests
 * with `Authorization: Bearer` carry no ambient credentials and need no token. SameSite=Lax on
 * the session cookie is a second layer.
 */
export function checkCsrf(req: Request, user: Authentication): void {
  // built-in cookie sessions and Kratos cookie sessions (method `external` with a session) alike
  if (!user.session) return;
  const sent = req.headers[CSRF_HEADER];
  const token = Array.isArray(sent) ? sent[0] : sent;
  if (!token || !safeEqual(token, user.session.csrfToken)) {
    throw new HttpError(403, 'csrf_token_invalid', `send the session's CSRF token (cookie ${CSRF_COOKIE}) in the X-CSRF-Token header`, { header: 'X-CSRF-Token' });
  }
}

/**
 * A crowd credential (`rfyc_…`, from POST /api/crowd/:token/join) is good for its link's
 * `/api/crowd/:token/…` routes only, which check it themselves (they are `public` in the route
 * table). Every route that needs a caller refuses it with 403 rather than treating it as a
 * wrong API token: the holder is known, just not allowed (docs/crowd.md).
 */
function refuseCrowdCredential(req: Request): void {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ') && header.slice('Bearer '.length).trim().startsWith(CROWD_CREDENTIAL_PREFIX)) {
    throw new HttpError(403, 'forbidden', 'a crowd credential may only use the routes of its crowd link (/api/crowd/:token/…)', { permission: 'crowd', role: 'crowd' });
  }
}

export function accessControl(identity: BuiltInIdentity): AccessControl {
  return {
    authenticate: async (req) => {
      refuseCrowdCredential(req);
      try {
        return await identity.authenticate(req);
      } catch (err) {
        throw identityUnavailable(err);
      }
    },
    roleIn: (projectId: string, userId: string, satisfied: (role: Role | undefined) => boolean) => identity.roleIn(projectId, userId, satisfied),
    checkCsrf,
  };
}

/**
 * Ory Kratos down (or answering nonsense) is not the caller's fault and not refinery's bug:
 * 503 with a clear code, never a 500. Other errors pass through unchanged.
 */
export function identityUnavailable(err: unknown): unknown {
  if (err instanceof IdentityProviderUnavailableError) {
    return new HttpError(503, 'identity_provider_unavailable', `${err.message}; try again shortly`, { provider: err.provider });
  }
  return err;
}

/** Secure cookies when the request came over https (directly or through a proxy that says so). */
export function isHttps(req: Request): boolean {
  if (req.secure) return true;
  const forwarded = req.headers['x-forwarded-proto'];
  return (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim() === 'https';
}

export function sessionCookies(req: Request, session: NewSession): string[] {
  const maxAge = Math.floor((session.expiresAt.getTime() - Date.now()) / 1000);
  const secure = isHttps(req);
  return [
    serializeCookie(SESSION_COOKIE, session.sessionId, { httpOnly: true, secure, maxAge }),
    serializeCookie(CSRF_COOKIE, session.csrfToken, { httpOnly: false, secure, maxAge }),
  ];
}

/** The readable CSRF cookie alone (Kratos browser sessions: the session cookie is Kratos'). */
export function csrfCookie(req: Request, csrfToken: string, expiresAt: Date): string {
  return serializeCookie(CSRF_COOKIE, csrfToken, { httpOnly: false, secure: isHttps(req), maxAge: Math.floor((expiresAt.getTime() - Date.now()) / 1000) });
}

export function clearSessionCookies(req: Request, res: Response): void {
  const secure = isHttps(req);
  res.setHeader('Set-Cookie', [
    serializeCookie(SESSION_COOKIE, '', { httpOnly: true, secure, maxAge: 0 }),
    serializeCookie(CSRF_COOKIE, '', { httpOnly: false, secure, maxAge: 0 }),
  ]);
}

/** The client's address for rate limiting (the socket's: put a proxy's limits in the proxy). */
export function clientAddress(req: Request): string {
  return req.socket.remoteAddress ?? 'unknown';
}
