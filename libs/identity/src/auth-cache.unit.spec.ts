import { describe, expect, it } from 'vitest';
import { AuthCache } from './auth-cache.ts';

const cred = (userId: string, tokenId?: string) => ({
  auth: { userId, displayName: 'U', email: 'u@example.com', admin: false, method: tokenId ? ('api-token' as const) : ('session' as const), ...(tokenId ? { tokenId } : {}) },
  expiresAtMs: 10_000,
});

describe('AuthCache', () => {
  it('forgets entries after the TTL (monotonic clock) and at the credential expiry', () => {
    let t = 0;
    const cache = new AuthCache(2000, 100, () => t);
    cache.putCredential('t:a', cred('u1', 'tok'), cache.generation);
    expect(cache.credential('t:a', 0)?.auth.userId).toBe('u1');
    t = 1999;
    expect(cache.credential('t:a', 0)).toBeDefined();
    expect(cache.credential('t:a', 10_000)).toBeUndefined(); // the credential itself expired
    cache.putCredential('t:a', cred('u1', 'tok'), cache.generation);
    t = 1999 + 2000;
    expect(cache.credential('t:a', 0)).toBeUndefined();
  });

  it('drops on invalidation and refuses answers read before it', () => {
    const cache = new AuthCache(2000);
    const before = cache.generation;
    cache.putRole('p1', 'u1', 'owner', before);
    cache.putRole('p2', 'u1', 'annotator', before);
    cache.putCredential('t:a', cred('u1', 'tok'), before);
    cache.dropProject('p1');
    expect(cache.role('p1', 'u1')).toBeUndefined();
    expect(cache.role('p2', 'u1')).toBe('annotator');
    // a read that began before the invalidation must not put the old role back
    cache.putRole('p1', 'u1', 'owner', before);
    expect(cache.role('p1', 'u1')).toBeUndefined();
    cache.dropCredentialsWhere((c) => c.auth.tokenId === 'tok');
    expect(cache.credential('t:a', 0)).toBeUndefined();
  });

  it('asks for a background read past 3/4 of the TTL and keeps serving the entry until the TTL', () => {
    let t = 0;
    const cache = new AuthCache(2000, 100, () => t);
    cache.putCredential('t:a', cred('u1', 'tok'), cache.generation);
    cache.putRole('p1', 'u1', 'owner', cache.generation);
    t = 1499;
    expect([cache.credentialDue('t:a'), cache.roleDue('p1', 'u1')]).toEqual([false, false]);
    t = 1500;
    expect([cache.credentialDue('t:a'), cache.roleDue('p1', 'u1')]).toEqual([true, true]);
    expect(cache.credential('t:a', 0)).toBeDefined();
    // the background read answers: the entry lives another TTL from now
    cache.putCredential('t:a', cred('u1', 'tok'), cache.generation);
    expect(cache.credentialDue('t:a')).toBe(false);
    t = 3499;
    expect(cache.credential('t:a', 0)).toBeDefined();
    expect(cache.role('p1', 'u1')).toBeUndefined(); // not refreshed: gone at its TTL
    expect(cache.credentialDue('t:b')).toBe(false); // nothing cached, nothing due
    // a background read that found the role gone drops it
    cache.putRole('p1', 'u1', 'owner', cache.generation);
    cache.dropRole('p1', 'u1');
    expect(cache.role('p1', 'u1')).toBeUndefined();
  });

  it('is off with a TTL of 0 and bounded in size', () => {
    const off = new AuthCache(0);
    off.putRole('p', 'u', 'owner', off.generation);
    expect(off.role('p', 'u')).toBeUndefined();
    const small = new AuthCache(2000, 2);
    small.putRole('p', 'a', 'owner', 0);
    small.putRole('p', 'b', 'owner', 0);
    small.putRole('p', 'c', 'owner', 0);
    expect(small.role('p', 'a')).toBeUndefined();
    expect(small.role('p', 'c')).toBe('owner');
  });
});
