/** The two cookies of a browser session. */
export const SESSION_COOKIE = 'refinery_session';
/** readable by the web app, which echoes it in the `X-CSRF-Token` header of unsafe requests */
export const CSRF_COOKIE = 'refinery_csrf';
export const CSRF_HEADER = 'x-csrf-token';

/** Parses a Cookie header; the first occurrence of a name wins, malformed pairs are skipped. */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  if (!header) return cookies;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (!name || cookies.has(name)) continue;
    try {
      cookies.set(name, decodeURIComponent(value));
    } catch {
      // not percent-encoded correctly: not one of ours
    }
  }
  return cookies;
}

export interface CookieOptions {
  httpOnly: boolean;
  secure: boolean;
  /** seconds; 0 deletes the cookie */
  maxAge: number;
  sameSite?: 'Lax' | 'Strict';
  path?: string;
}

/** A Set-Cookie value. Names and values here are ours (base64url), so no quoting is needed. */
export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  const parts = [`${name}=${encodeURIComponent(value)}`, `Path=${options.path ?? '/'}`, `Max-Age=${Math.max(0, Math.floor(options.maxAge))}`, `SameSite=${options.sameSite ?? 'Lax'}`];
  if (options.maxAge <= 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  if (options.httpOnly) parts.push('HttpOnly');
  if (options.secure) parts.push('Secure');
  return parts.join('; ');
}
