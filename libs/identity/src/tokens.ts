import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Secrets handed to clients. Each is 256 random bits in base64url behind a recognisable prefix
 * (so secret scanners and people can tell what leaked); the server stores only SHA-256 hashes.
 *
 * - personal API token:   `rfy_` + 43 characters       (Authorization: Bearer rfy_…)
 * - invitation link token: `rfyi_` + 43 characters     (/invite/<token>)
 * - session id:            43 characters, only ever in the HttpOnly `refinery_session` cookie
 */
export const API_TOKEN_PREFIX = 'rfy_';
export const INVITATION_TOKEN_PREFIX = 'rfyi_';
const SECRET = /^[A-Za-z0-9_-]{43}$/;

function secret(): string {
  return randomBytes(32).toString('base64url');
}

export function generateApiToken(): string {
  return API_TOKEN_PREFIX + secret();
}

export function generateInvitationToken(): string {
  return INVITATION_TOKEN_PREFIX + secret();
}

export function generateSessionId(): string {
  return secret();
}

export function isApiTokenFormat(token: string): boolean {
  return token.startsWith(API_TOKEN_PREFIX) && SECRET.test(token.slice(API_TOKEN_PREFIX.length));
}

export function isInvitationTokenFormat(token: string): boolean {
  return token.startsWith(INVITATION_TOKEN_PREFIX) && SECRET.test(token.slice(INVITATION_TOKEN_PREFIX.length));
}

export function isSessionIdFormat(id: string): boolean {
  return SECRET.test(id);
}

/**
 * `REFINERY_ADMIN_TOKEN` is chosen by an operator, so it only has to be long and header-safe;
 * `rfy_` + 43 base64url characters is recommended (`openssl rand -base64 32 | tr '+/' '-_' | tr -d =`).
 */
export function isAcceptableAdminToken(token: string): boolean {
  return /^[A-Za-z0-9._~+/=-]{24,256}$/.test(token);
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** How a stored token is found: the SHA-256 of the whole token, with a domain prefix per kind. */
export const hashApiToken = (token: string) => sha256Hex(`api-token:${token}`);
export const hashInvitationToken = (token: string) => sha256Hex(`invitation:${token}`);
export const hashSessionId = (sessionId: string) => sha256Hex(`session:${sessionId}`);

/**
 * The CSRF token of a session: derived from the session id (so nothing more is stored), by a
 * hash that differs from the one stored for lookups (so a leaked sessions table reveals neither).
 */
export function csrfTokenFor(sessionId: string): string {
  return createHash('sha256').update(`csrf:${sessionId}`, 'utf8').digest('base64url');
}

/** What a list shows to recognise a token without revealing it. */
export function tokenDisplayPrefix(token: string): string {
  return token.slice(0, Math.min(token.length, token.startsWith(API_TOKEN_PREFIX) ? 8 : 4));
}

/** A stable uuid derived from a hash: the id of the seeded admin token, the same across restarts. */
export function uuidFromHash(hex: string): string {
  const h = hex.slice(0, 32).split('');
  h[12] = '8'; // version 8: custom
  h[16] = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16); // RFC 4122 variant
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
}

/** Constant-time string equality (for tokens compared in memory). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
