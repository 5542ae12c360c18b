import type { Server } from 'node:net';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ServiceMetrics } from './metrics.js';

/**
 * Counts the sockets a server holds open from now on (HTTP and HTTPS servers alike), for
 * `process.open_connections`. Keeps count with the server's events, as `server.connections` is gone.
 */
export function countHttpConnections(server: Server): () => number {
  let open = 0;
  server.on('connection', (socket) => {
    open += 1;
    socket.once('close', () => {
      open -= 1;
    });
  });
  return () => open;
}

/** 1 while the NATS connection is open (reconnecting included: it is not given up), 0 once closed. */
export const natsConnectionCount = (connection: Pick<NatsConnection, 'isClosed'>) => (): number => (connection.isClosed() ? 0 : 1);

/** Adds an HTTP server's sockets to `process.open_connections{connection.type="http"}`, when there are metrics. */
export function observeHttpConnections(metrics: Pick<ServiceMetrics, 'observeConnections'> | undefined, server: Server): () => void {
  return metrics?.observeConnections('http', countHttpConnections(server)) ?? (() => undefined);
}
