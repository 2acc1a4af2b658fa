import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '@refinery/events/testing';
import { startWorkers } from '@refinery/workers';
import { requireKafkaBrokers } from '@refinery/workers/testing';
import { startTestApi, type TestApi } from '../../test/product.ts';

const ADMIN_TOKEN = 'rfy_relay-health-int-spec-token-0123456789';

/**
 * The Kafka relay's state on /readyz (docs/integrations.md): a relay that cannot publish (here:
 * its topics cannot be created, the replication factor exceeds the one broker) is reported with
 * its error, and neither makes the product unready nor stops it from taking writes.
 */
for (const backend of testBackends()) {
  describe(`relay state on /readyz on ${backend.name}`, () => {
    let t: TestApi;

    beforeAll(async () => {
      const brokers = await requireKafkaBrokers();
      t = await startTestApi(backend, {
        adminToken: ADMIN_TOKEN,
        alongside: (platform) =>
          startWorkers(platform, {
            reactors: [],
            log: () => undefined,
            relay: { brokers, topicPrefix: `h${randomUUID().slice(0, 8)}.`, clientId: 'health-test', partitions: 1, replicationFactor: 3, maxMessageBytes: 1_000_000 },
          }),
      });
    });

    afterAll(async () => {
      await t?.close();
    });

    it('reports a failing relay with its error while the product stays ready and takes writes', async () => {
      const created = await t.call('POST', '/api/projects', { name: 'Relay down' });
      expect(created.status).toBe(201);
      let ready = await t.call('GET', '/readyz');
      for (let i = 0; i < 300 && ready.body.checks?.relay?.state !== 'retrying'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        ready = await t.call('GET', '/readyz');
      }
      expect(ready.status).toBe(200);
      expect(ready.body.status).toBe('ready');
      expect(ready.body.checks.relay).toMatchObject({ state: 'retrying', published: 0, deadLettered: 0, lastError: expect.stringContaining('cannot create topic') });
      expect(ready.body.checks.relay.failures).toBeGreaterThan(0);
      expect(ready.body.checks.relay.updatedMsAgo).toBeLessThan(60_000);
      expect((await t.call('POST', '/api/projects', { name: 'Still taking writes' })).status).toBe(201);
    });
  });
}
