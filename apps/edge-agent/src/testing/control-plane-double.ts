/**
 * The control plane's side of the device plane, played by a test over a raw NATS connection:
 * answers `.register` and `.sync`, sends commands, collects what the device publishes.
 */
import { connect, type ConnectionOptions, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { drainOrClose } from '@hotswap/infrastructure';
import {
  DeviceSubjects,
  type CommandAck,
  type DeviceAnnouncement,
  type DeviceStatusReport,
  type Heartbeat,
  type SwapCommand,
  type SwapPhase,
  type SyncRequest,
  type TelemetryWindow,
} from '@hotswap/contracts';

export interface Received<T> {
  readonly body: T;
  readonly traceparent?: string;
  /** `performance.now()` when it arrived (benches split a swap into its phases by it). */
  readonly receivedAt: number;
}

export class ControlPlaneDouble {
  readonly registrations: Received<DeviceAnnouncement>[] = [];
  readonly syncs: Received<SyncRequest>[] = [];
  readonly statuses: Received<DeviceStatusReport>[] = [];
  readonly heartbeats: Received<Heartbeat>[] = [];
  readonly telemetry: Received<TelemetryWindow>[] = [];
  /** What `.sync` answers; null means "no model yet". */
  desired: SwapCommand | null = null;
  /** Replaces the whole `.sync` reply (for malformed replies). */
  syncReply: (() => unknown) | undefined;
  /** When false, `.register` and `.sync` go unanswered (the control plane is away). */
  answering = true;
  /** Requests left unanswered while `answering` was false. */
  unanswered = 0;
  private readonly subs: Subscription[] = [];
  private waiters: Array<() => void> = [];

  private constructor(
    readonly nc: NatsConnection,
    readonly deviceId: string,
  ) {}

  /** `connectOptions`: e.g. a service's authenticator on an operator-mode server. */
  static async start(natsUrl: string, deviceId: string, connectOptions: Partial<ConnectionOptions> = {}): Promise<ControlPlaneDouble> {
    const nc = await connect({ servers: natsUrl, maxReconnectAttempts: -1, reconnectTimeWait: 100, ...connectOptions });
    const cp = new ControlPlaneDouble(nc, deviceId);
    cp.listen(DeviceSubjects.register(deviceId), cp.registrations, () => ({ accepted: true }));
    cp.listen(DeviceSubjects.sync(deviceId), cp.syncs, () => (cp.syncReply ? cp.syncReply() : { desired: cp.desired }));
    cp.listen(DeviceSubjects.status(deviceId), cp.statuses);
    cp.listen(DeviceSubjects.heartbeat(deviceId), cp.heartbeats);
    cp.listen(DeviceSubjects.telemetry(deviceId), cp.telemetry);
    await nc.flush();
    return cp;
  }

  /** Sends a command (an object, or raw bytes for malformed input) and returns the device's ack. */
  async command(command: SwapCommand | string, timeoutMs = 5000): Promise<CommandAck> {
    const payload = typeof command === 'string' ? command : JSON.stringify(command);
    const reply = await this.nc.request(DeviceSubjects.command(this.deviceId), payload, { timeout: timeoutMs });
    return reply.json<CommandAck>();
  }

  reportsFor(commandId: string): DeviceStatusReport[] {
    return this.statuses.map((s) => s.body).filter((s) => s.commandId === commandId);
  }

  phasesFor(commandId: string): SwapPhase[] {
    return this.reportsFor(commandId).map((s) => s.phase);
  }

  /** Waits for the command's final report (`swapped` or `failed`). */
  async outcome(commandId: string, timeoutMs = 15_000): Promise<DeviceStatusReport> {
    let found: DeviceStatusReport | undefined;
    await this.until(() => {
      found = this.reportsFor(commandId).find((s) => s.phase === 'swapped' || s.phase === 'failed');
      return found !== undefined;
    }, timeoutMs, `a final status for command ${commandId}`);
    return found as DeviceStatusReport;
  }

  /** Resolves when `condition` holds, re-checked on every message and every 25 ms. */
  async until(condition: () => boolean, timeoutMs = 15_000, what = 'a condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 25);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async stop(): Promise<void> {
    for (const s of this.subs) s.unsubscribe();
    await drainOrClose(this.nc);
  }

  private listen<T>(subject: string, into: Received<T>[], reply?: () => unknown): void {
    this.subs.push(
      this.nc.subscribe(subject, {
        callback: (_err, msg) => {
          if (reply && !this.answering) {
            this.unanswered++;
            for (const wake of this.waiters.splice(0)) wake();
            return;
          }
          into.push({ body: msg.json<T>(), traceparent: msg.headers?.get('traceparent'), receivedAt: performance.now() });
          if (reply) msg.respond(JSON.stringify(reply()));
          for (const wake of this.waiters.splice(0)) wake();
        },
      }),
    );
  }
}
