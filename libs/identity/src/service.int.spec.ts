import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalog, PostgresEventStore, type SqlDatabase } from '@refinery/events';
import { testBackends } from '@refinery/events/testing';
import { CatchUpWaiter, ProjectionRunner } from '@refinery/projector';
import { identityProjection, membershipsProjection } from '@refinery/read-models';
import { SESSION_COOKIE } from './cookies.ts';
import { BuiltInIdentity } from './service.ts';

/** Time-dependent behaviour of the built-in provider, with a clock the test moves. */
for (const backend of testBackends()) {
  describe(`built-in identity with a moving clock on ${backend.name}`, () => {
    let db: SqlDatabase;
    let store: PostgresEventStore;
    let runner: ProjectionRunner;
    let identity: BuiltInIdentity;
    let now = Date.parse('2030-01-01T00:00:00.000Z');
    const fast = { N: 1024, r: 8, p: 1, keyLength: 32, saltBytes: 16 };

    beforeAll(async () => {
      db = await backend.open();
      store = await PostgresEventStore.open(db, { catalog });
      runner = new ProjectionRunner(db, store, [identityProjection, membershipsProjection], { log: () => undefined });
      await runner.start();
      identity = new BuiltInIdentity({
        db,
        store,
        waiter: new CatchUpWaiter(db, (l) => runner.onAdvanced(l)),
        clock: () => new Date(now),
        sessionTtlMs: 3600_000,
        scrypt: fast,
      });
      await identity.migrate();
      await identity.bootstrap({ ownerEmail: 'owner@localhost', ownerPassword: 'owner-password' });
    });
    afterAll(async () => {
      await runner.stop();
      await store.close();
      await backend.cleanup();
    });

    const bearer = (token: string) => ({ method: 'GET', headers: { authorization: `Bearer ${token}` } });
    const cookie = (sessionId: string) => ({ method: 'GET', headers: { cookie: `${SESSION_COOKIE}=${sessionId}` } });

    it('an API token with an expiry works until then, not after', async () => {
      const owner = await identity.findUserByEmail('owner@localhost');
      const { token } = await identity.createApiToken(owner!.id, 'short-lived', new Date(now + 24 * 3600_000));
      expect(await identity.authenticate(bearer(token))).toMatchObject({ userId: owner!.id, method: 'api-token' });
      now += 24 * 3600_000 + 1;
      expect(await identity.authenticate(bearer(token))).toBeUndefined();
      await expect(identity.createApiToken(owner!.id, 'past', new Date(now - 1))).rejects.toThrow(/future/);
    });

    it('a session ends at its absolute expiry, and expired rows are swept', async () => {
      const { session } = await identity.signIn('owner@localhost', 'owner-password', { ip: '10.0.0.1' });
      expect(await identity.authenticate(cookie(session.sessionId))).toMatchObject({ method: 'session', session: { csrfToken: session.csrfToken } });
      now += 3600_000;
      expect(await identity.authenticate(cookie(session.sessionId))).toBeUndefined();
      expect(await identity.sessions.deleteExpired()).toBeGreaterThanOrEqual(1);
    });

    it('a rate-limited account may try again once its failures leave the one-minute window', async () => {
      for (let i = 0; i < 5; i++) await expect(identity.signIn('owner@localhost', 'wrong-password', { ip: '10.0.0.2' })).rejects.toMatchObject({ code: 'invalid_credentials' });
      await expect(identity.signIn('owner@localhost', 'owner-password', { ip: '10.0.0.2' })).rejects.toMatchObject({ code: 'rate_limited', retryAfterSeconds: 60 });
      // the same account from another address is not blocked
      await expect(identity.signIn('owner@localhost', 'owner-password', { ip: '10.0.0.3' })).resolves.toBeDefined();
      now += 60_000;
      await expect(identity.signIn('owner@localhost', 'owner-password', { ip: '10.0.0.2' })).resolves.toBeDefined();
    });

    it('an invitation expires after its lifetime', async () => {
      const { token } = await identity.invite('system', { email: 'late@example.com', projectId: null, role: null });
      now += 7 * 24 * 3600_000;
      await expect(identity.acceptInvitation(token, { name: 'Late', password: 'late-password' })).rejects.toMatchObject({ code: 'invitation_expired' });
    });

    it('a weaker stored hash is upgraded at the next sign-in', async () => {
      const strong = new BuiltInIdentity({ db, store, waiter: new CatchUpWaiter(db, (l) => runner.onAdvanced(l)), clock: () => new Date(now) });
      const before = await identity.findUserByEmail('owner@localhost');
      expect(before!.passwordHash!.N).toBe(1024);
      await strong.signIn('owner@localhost', 'owner-password', { ip: '10.0.0.4' });
      expect((await new CatchUpWaiter(db).waitFor(await store.head(), ['identity'], 5000)).caughtUp).toBe(true);
      const after = await identity.findUserByEmail('owner@localhost');
      expect(after!.passwordHash!.N).toBe(2 ** 15);
      await expect(identity.signIn('owner@localhost', 'owner-password', { ip: '10.0.0.4' })).resolves.toBeDefined();
    });
  });
}
