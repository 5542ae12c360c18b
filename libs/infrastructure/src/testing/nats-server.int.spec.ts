import { describe, expect, it } from '@jest/globals';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, NatsServerStartError, startNatsServer } from './nats-server.js';

describe('nats-server harness', () => {
  it('starts JetStream on a free port and removes its temp store dir on stop', async () => {
    const server = await startNatsServer();
    try {
      expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
      const nc = await connect({ servers: server.url });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'HARNESS', subjects: ['harness.>'] });
      await nc.close();
      expect(existsSync(server.storeDir)).toBe(true);
    } finally {
      await server.stop();
    }
    expect(existsSync(server.storeDir)).toBe(false);
  });

  it('restarts after a SIGKILL on the same port with the same stored data', async () => {
    const server = await startNatsServer();
    try {
      let nc = await connect({ servers: server.url });
      await (await jetstreamManager(nc)).streams.add({ name: 'KEPT', subjects: ['kept.>'], storage: 'file' });
      await nc.close();

      await server.kill();
      await expect(connect({ servers: server.url, reconnect: false, timeout: 500 })).rejects.toThrow();
      await server.restart();

      nc = await connect({ servers: server.url });
      expect((await (await jetstreamManager(nc)).streams.info('KEPT')).config.name).toBe('KEPT');
      await nc.close();
    } finally {
      await server.stop();
    }
  });

  it('restarts a running server gracefully', async () => {
    const server = await startNatsServer({ jetstream: false });
    try {
      await server.restart();
      const nc = await connect({ servers: server.url });
      await expect(jetstreamManager(nc)).rejects.toThrow();
      await nc.close();
    } finally {
      await server.stop();
    }
  });

  it('keeps a store dir it was given', async () => {
    const storeDir = await mkdtemp(join(tmpdir(), 'hotswap-given-'));
    const server = await startNatsServer({ storeDir, port: await freePort() });
    await server.stop();
    expect(existsSync(storeDir)).toBe(true);
    await rm(storeDir, { recursive: true, force: true });
  });

  it('reports why the server did not start', async () => {
    await expect(startNatsServer({ config: '/nonexistent/nats.conf' })).rejects.toThrow(NatsServerStartError);
    await expect(startNatsServer({ config: '/nonexistent/nats.conf' })).rejects.toThrow(/exited with 1/);
  });
});
