import type { ServerResponse } from 'node:http';
import {
  FINISHED_DISTRIBUTION_STATUSES, type DistributionMetricsView, type DistributionStatus, type DistributionStatusView,
} from '@hotswap/contracts';

/** Above this many targets the `status` events leave out the per-device rows (the progress counts stay). */
export const MAX_STREAMED_DEVICES = 200;

export const DEFAULT_POLL_INTERVAL_MS = 1_000;
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 15_000;

/** Where the stream reads the distribution from (the distributor's and the monitor's queries). */
export interface DistributionSource {
  status(id: string): Promise<DistributionStatusView>;
  metrics(id: string): Promise<DistributionMetricsView>;
}

export interface StreamTiming {
  readonly pollIntervalMs: number;
  readonly heartbeatIntervalMs: number;
}

/** The defaults completed by what is given; @throws RangeError naming a value that is not a positive number of ms */
export function streamTiming(given: Partial<StreamTiming> = {}): StreamTiming {
  const timing = {
    pollIntervalMs: given.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
    heartbeatIntervalMs: given.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
  };
  for (const [name, value] of Object.entries(timing)) {
    if (!(Number.isFinite(value) && value >= 1)) throw new RangeError(`GatewayDeps.distributionEvents.${name} must be at least 1 (ms), got ${value}`);
  }
  return timing;
}

/** The data of a `status` event: the status view, without `devices` for large distributions. */
export type StreamedStatus = Omit<DistributionStatusView, 'devices'> & Partial<Pick<DistributionStatusView, 'devices'>>;

/** The data of the final `end` event. */
export interface StreamEnd {
  readonly id: string;
  readonly status: DistributionStatus;
}

/**
 * One Server-Sent Events response for one distribution: polls the status and the metrics, sends a
 * `status` or `metrics` event whenever one differs from what was sent last, a heartbeat comment so
 * that proxies keep the connection, and `end` once the distribution has finished. A failed poll
 * (a service restarting) is skipped; the next one tries again.
 */
export class DistributionEventStream {
  private readonly sent = new Map<'status' | 'metrics', string>();
  private pollTimer?: NodeJS.Timeout;
  private heartbeatTimer?: NodeJS.Timeout;
  private closed = false;
  private resolveDone!: () => void;
  /** Settles when the response is over, whoever ended it. */
  readonly done = new Promise<void>((resolve) => { this.resolveDone = resolve; });

  constructor(
    private readonly id: string,
    private readonly response: ServerResponse,
    private readonly source: DistributionSource,
    private readonly timing: StreamTiming,
  ) {}

  /** Starts streaming with the status the caller already read (so a bad id was still a plain 404). */
  start(first: DistributionStatusView): void {
    this.response.on('close', () => this.close());
    // The client may have left while the first status was being read: its 'close' is past.
    if (this.response.destroyed) {
      this.close();
      return;
    }
    this.response.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      // nginx would otherwise hold events back in its buffer.
      'X-Accel-Buffering': 'no',
    });
    this.response.flushHeaders();
    this.heartbeatTimer = setInterval(() => this.write(': heartbeat\n\n'), this.timing.heartbeatIntervalMs);
    // At once, not after the first metrics answer.
    this.sendIfChanged('status', streamedStatus(first));
    void this.poll(first);
  }

  /** Ends the response (client gone, distribution finished, or the gateway shutting down). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.pollTimer);
    clearInterval(this.heartbeatTimer);
    this.response.end();
    this.resolveDone();
  }

  private async poll(known?: DistributionStatusView): Promise<void> {
    const [status, metrics] = await Promise.allSettled([
      known === undefined ? this.source.status(this.id) : Promise.resolve(known),
      this.source.metrics(this.id),
    ]);
    if (this.closed) return;
    if (status.status === 'fulfilled') this.sendIfChanged('status', streamedStatus(status.value));
    if (metrics.status === 'fulfilled') this.sendIfChanged('metrics', metrics.value);
    if (status.status === 'fulfilled' && FINISHED_DISTRIBUTION_STATUSES.includes(status.value.status)) {
      this.sendEvent('end', { id: this.id, status: status.value.status } satisfies StreamEnd);
      this.close();
      return;
    }
    this.pollTimer = setTimeout(() => void this.poll(), this.timing.pollIntervalMs);
  }

  private sendIfChanged(event: 'status' | 'metrics', data: unknown): void {
    const json = JSON.stringify(data);
    if (this.sent.get(event) === json) return;
    this.sent.set(event, json);
    this.write(`event: ${event}\ndata: ${json}\n\n`);
  }

  private sendEvent(event: 'end', data: unknown): void {
    // JSON.stringify writes no raw newline, so the data fits on one `data:` line.
    this.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private write(chunk: string): void {
    if (!this.closed) this.response.write(chunk);
  }
}

export function streamedStatus(view: DistributionStatusView): StreamedStatus {
  if (view.devices.length <= MAX_STREAMED_DEVICES) return view;
  const { devices: _devices, ...rest } = view;
  return rest;
}
