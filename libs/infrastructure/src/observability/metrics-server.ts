import { createServer, type Server } from 'node:http';
import { GaugeAlreadyObservedError, metricsRequestListener, type GaugeCallback, type ServiceMetrics } from './metrics.js';
import { readinessRequestListener, type Readiness } from './readiness.js';
import type { GaugeKey } from './telemetry-names.js';

export interface MetricsServer {
  /** e.g. `http://127.0.0.1:9464/metrics`. */
  readonly url: string;
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  /** Served at `GET /readyz` (200 ready, 503 with the reason); without it that path answers 404. */
  readonly readiness?: Pick<Readiness, 'report'>;
  /** Given the server before it listens, e.g. to count its sockets (`countHttpConnections`). */
  readonly onServer?: (server: Server) => void;
}

/**
 * `GET /metrics` (and `GET /readyz` when given the readiness checks) on a small HTTP server of its
 * own, for the services that speak only NATS (`METRICS_PORT`); any other path answers 404.
 */
export async function serveMetrics(
  metrics: Pick<ServiceMetrics, 'prometheusText'>, port: number, host = '0.0.0.0', options: MetricsServerOptions = {},
): Promise<MetricsServer> {
  const listener = metricsRequestListener(metrics);
  const ready = options.readiness !== undefined ? readinessRequestListener(options.readiness) : undefined;
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (request.method === 'GET' && path === '/metrics') return listener(request, response);
    if (request.method === 'GET' && path === '/readyz' && ready !== undefined) return ready(request, response);
    response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    response.end(`not found: metrics are served at GET /metrics${ready !== undefined ? ', readiness at GET /readyz' : ''}`);
  });
  options.onServer?.(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as { port: number };
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Feeds `gauge` from `callback` when the service has metrics. Replicas hosted in one process share
 * one handle and read the same read model, so the first observer answers and the others are
 * told so (a no-op stop function), rather than failing to start.
 */
export function observeGauge(metrics: ServiceMetrics | undefined, gauge: GaugeKey, callback: GaugeCallback): () => void {
  if (metrics === undefined) return () => undefined;
  try {
    return metrics.observe(gauge, callback);
  } catch (error) {
    if (error instanceof GaugeAlreadyObservedError) return () => undefined;
    throw error;
  }
}
