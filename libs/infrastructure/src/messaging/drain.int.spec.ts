import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type Server, type Socket } from 'node:net';
import { connect } from '@nats-io/transport-node';
import { startNatsServer } from '../testing/index.js';
import { drainOrClose } from './drain.js';

/**
 * A server that completes the NATS handshake and then answers nothing (a half-open link, or a
 * server that stopped serving): a drain's flush waits for a PONG that never comes.
 */
async function silentServer(): Promise<{ url: string; server: Server; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    let handshaken = false;
    socket.write(`INFO ${JSON.stringify({ server_id: 'silent', version: '2.10.0', proto: 1, max_payload: 1048576, headers: true })}\r\n`);
    socket.on('data', (data) => {
      if (!handshaken && data.toString().includes('PING')) {
        handshaken = true;
        socket.write('PONG\r\n');
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `nats://127.0.0.1:${port}`, server, sockets };
}

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

describe('drainOrClose', () => {
  it('closes a connection whose drain cannot finish, within the bound', async () => {
    const silent = await silentServer();
    stops.push(async () => {
      for (const s of silent.sockets) s.destroy();
      await new Promise((r) => silent.server.close(r));
    });
    const nc = await connect({ servers: silent.url, reconnect: false });
    nc.subscribe('work', { callback: () => undefined });
    const started = Date.now();
    const result = await drainOrClose(nc, 300);
    expect(result.outcome).toBe('timed-out');
    expect(nc.isClosed()).toBe(true);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('drains a healthy connection, delivering what was published before', async () => {
    const nats = await startNatsServer({ jetstream: false });
    stops.push(() => nats.stop());
    const received: string[] = [];
    const sub = await connect({ servers: nats.url });
    stops.push(() => sub.close());
    sub.subscribe('work', { callback: (_err, msg) => void received.push(msg.string()) });
    await sub.flush();
    const nc = await connect({ servers: nats.url });
    for (let i = 0; i < 100; i++) nc.publish('work', String(i));
    expect((await drainOrClose(nc)).outcome).toBe('drained');
    expect(nc.isClosed()).toBe(true);
    await sub.flush();
    expect(received).toHaveLength(100);
  });

  it('reports an already closed connection as closed', async () => {
    const nats = await startNatsServer({ jetstream: false });
    stops.push(() => nats.stop());
    const nc = await connect({ servers: nats.url });
    await nc.close();
    expect(await drainOrClose(nc)).toEqual({ outcome: 'closed' });
  });
});
