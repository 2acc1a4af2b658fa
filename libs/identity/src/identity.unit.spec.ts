import { describe, expect, it } from 'vitest';
import { parseCookies, serializeCookie } from './cookies.ts';
import { DEFAULT_SCRYPT, generatePassword, hashPassword, needsRehash, passwordProblem, verifyPassword } from './password.ts';
import { FailureRateLimiter } from './rate-limit.ts';
import {
  csrfTokenFor,
  generateApiToken,
  generateInvitationToken,
  generateSessionId,
  hashApiToken,
  hashSessionId,
  isAcceptableAdminToken,
  isApiTokenFormat,
  isInvitationTokenFormat,
  isSessionIdFormat,
  safeEqual,
  tokenDisplayPrefix,
  uuidFromHash,
} from './tokens.ts';

/** cheap parameters so the suite stays fast; the defaults are exercised once below */
const FAST = { N: 2 ** 10, r: 8, p: 1, keyLength: 32, saltBytes: 16 };

describe('password hashing (scrypt)', () => {
  it('stores salt, parameters and hash, never the password, and verifies it', async () => {
    const hash = await hashPassword('correct horse battery', FAST);
    expect(hash).toMatchObject({ algorithm: 'scrypt', N: 1024, r: 8, p: 1, keyLength: 32 });
    expect(JSON.stringify(hash)).not.toContain('correct horse');
    expect(Buffer.from(hash.salt, 'base64')).toHaveLength(16);
    expect(Buffer.from(hash.hash, 'base64')).toHaveLength(32);
    expect(await verifyPassword('correct horse battery', hash)).toBe(true);
    expect(await verifyPassword('correct horse batterY', hash)).toBe(false);
    expect(await verifyPassword('', hash)).toBe(false);
  });

  it('salts every hash: the same password hashes differently', async () => {
    const [a, b] = await Promise.all([hashPassword('same password', FAST), hashPassword('same password', FAST)]);
    expect(a.salt).not.toBe(b.salt);
    expect(a.hash).not.toBe(b.hash);
  });

  it('verifies with the parameters stored in the hash, and flags weaker ones for re-hashing', async () => {
    const weak = await hashPassword('pässwörd-ünïcode', FAST);
    expect(await verifyPassword('pässwörd-ünïcode', weak)).toBe(true);
    // NFKC: a composed and a decomposed "ä" are the same password
    expect(await verifyPassword('pa\u0308sswörd-ünïcode', weak)).toBe(true);
    expect(needsRehash(weak)).toBe(true);
    const strong = await hashPassword('pässwörd-ünïcode');
    expect(strong.N).toBe(DEFAULT_SCRYPT.N);
    expect(needsRehash(strong)).toBe(false);
    expect(await verifyPassword('pässwörd-ünïcode', strong)).toBe(true);
  });

  it('rejects a hash that was tampered with', async () => {
    const hash = await hashPassword('secret password', FAST);
    const bytes = Buffer.from(hash.hash, 'base64');
    bytes[0] = bytes[0]! ^ 1;
    expect(await verifyPassword('secret password', { ...hash, hash: bytes.toString('base64') })).toBe(false);
    expect(await verifyPassword('secret password', { ...hash, hash: bytes.subarray(1).toString('base64') })).toBe(false);
  });

  it('says what is wrong with a new password', () => {
    expect(passwordProblem('short')).toMatch(/at least 8/);
    expect(passwordProblem('x'.repeat(1025))).toMatch(/at most 1024/);
    expect(passwordProblem('Me@Example.com', { email: 'me@example.com' })).toMatch(/e-mail/);
    expect(passwordProblem('a perfectly fine one')).toBeUndefined();
    const generated = generatePassword();
    expect(generated).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(passwordProblem(generated)).toBeUndefined();
  });
});

describe('token formats', () => {
  it('API tokens: rfy_ + 43 base64url characters (256 bits), unique', () => {
    const tokens = new Set(Array.from({ length: 100 }, generateApiToken));
    expect(tokens.size).toBe(100);
    for (const t of tokens) {
      expect(t).toMatch(/^rfy_[A-Za-z0-9_-]{43}$/);
      expect(isApiTokenFormat(t)).toBe(true);
    }
    expect(isApiTokenFormat('rfy_short')).toBe(false);
    expect(isApiTokenFormat(`rfx_${'a'.repeat(43)}`)).toBe(false);
    expect(isApiTokenFormat(`rfy_${'a'.repeat(42)}!`)).toBe(false);
  });

  it('invitation tokens and session ids have their own shapes', () => {
    const inv = generateInvitationToken();
    expect(inv).toMatch(/^rfyi_[A-Za-z0-9_-]{43}$/);
    expect(isInvitationTokenFormat(inv)).toBe(true);
    expect(isInvitationTokenFormat(generateApiToken())).toBe(false);
    const sid = generateSessionId();
    expect(isSessionIdFormat(sid)).toBe(true);
    expect(isSessionIdFormat(`${sid}x`)).toBe(false);
  });

  it('hashes are SHA-256 hex, separated by kind, and never the token itself', () => {
    const t = generateApiToken();
    expect(hashApiToken(t)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiToken(t)).toBe(hashApiToken(t));
    expect(hashApiToken(t)).not.toBe(hashSessionId(t));
    expect(hashApiToken(t)).not.toContain(t.slice(4, 12));
  });

  it('CSRF tokens are derived from the session and differ from its stored hash', () => {
    const sid = generateSessionId();
    expect(csrfTokenFor(sid)).toBe(csrfTokenFor(sid));
    expect(csrfTokenFor(sid)).not.toBe(csrfTokenFor(generateSessionId()));
    expect(csrfTokenFor(sid)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(csrfTokenFor(sid), 'base64url').toString('hex')).not.toBe(hashSessionId(sid));
  });

  it('display prefixes reveal a few characters only; admin tokens need length', () => {
    const t = generateApiToken();
    expect(tokenDisplayPrefix(t)).toBe(t.slice(0, 8));
    expect(isAcceptableAdminToken('too-short')).toBe(false);
    expect(isAcceptableAdminToken('ci-admin-token-0123456789abcdef')).toBe(true);
    expect(isAcceptableAdminToken('has spaces in it and is long enough')).toBe(false);
  });

  it('derives a stable RFC 4122-shaped uuid from a hash', () => {
    const id = uuidFromHash('f'.repeat(64));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(uuidFromHash(hashApiToken('x'))).toBe(uuidFromHash(hashApiToken('x')));
  });

  it('compares in constant time without throwing on different lengths', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
  });
});

describe('cookies', () => {
  it('parses a Cookie header, first occurrence wins, bad pairs skipped', () => {
    const c = parseCookies('a=1; refinery_session=abc%2Ddef; a=2; broken; =x; q="quoted"; bad=%E0%A4%A');
    expect(c.get('a')).toBe('1');
    expect(c.get('refinery_session')).toBe('abc-def');
    expect(c.get('q')).toBe('quoted');
    expect(c.has('bad')).toBe(false);
    expect(parseCookies(undefined).size).toBe(0);
  });

  it('serializes session cookies with the security attributes', () => {
    expect(serializeCookie('refinery_session', 'v', { httpOnly: true, secure: true, maxAge: 60 })).toBe(
      'refinery_session=v; Path=/; Max-Age=60; SameSite=Lax; HttpOnly; Secure',
    );
    expect(serializeCookie('refinery_csrf', 'v', { httpOnly: false, secure: false, maxAge: 0 })).toBe(
      'refinery_csrf=v; Path=/; Max-Age=0; SameSite=Lax; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
    );
  });
});

describe('failure rate limiter', () => {
  it('blocks a key after 5 failures within a minute, says how long, and forgets old failures', () => {
    let now = 1_000_000;
    const limiter = new FailureRateLimiter(5, 60_000, () => now);
    for (let i = 0; i < 5; i++) {
      expect(limiter.retryAfterSeconds('k')).toBe(0);
      limiter.fail('k');
      now += 1000;
    }
    // failures at t0 .. t0+4s; now t0+5s: the oldest leaves the window at t0+60s
    expect(limiter.retryAfterSeconds('k')).toBe(55);
    expect(limiter.retryAfterSeconds('other')).toBe(0);
    now += 55_000;
    expect(limiter.retryAfterSeconds('k')).toBe(0);
    limiter.fail('k');
    expect(limiter.retryAfterSeconds('k')).toBeGreaterThan(0);
    limiter.reset('k');
    expect(limiter.retryAfterSeconds('k')).toBe(0);
  });

  it('keeps memory bounded', () => {
    const limiter = new FailureRateLimiter(5, 60_000, () => 0, 10);
    for (let i = 0; i < 100; i++) limiter.fail(`k${i}`);
    expect((limiter as unknown as { failures: Map<string, number[]> }).failures.size).toBe(10);
  });
});
