import type { ConnectionOptions } from '@nats-io/transport-node';
import type { DeviceCapabilitiesDto } from '@hotswap/contracts';
import type { SessionOptions } from '../swap/model-loader.js';
import type { SessionCache } from '../swap/session-cache.js';
import type { AgentLogger } from './logger.js';

/** Connection settings passed through to `connect()`; servers, inbox prefix and reconnects are the agent's. */
export type NatsPassthroughOptions = Pick<
  ConnectionOptions,
  'user' | 'pass' | 'token' | 'authenticator' | 'tls' | 'pingInterval' | 'maxPingOut' | 'reconnectTimeWait' | 'reconnectJitter' | 'timeout'
>;

export interface EdgeAgentOptions {
  /** Device id; also a NATS subject token, so letters, digits, `_` and `-` only. */
  readonly deviceId: string;
  readonly deviceType: string;
  readonly region: string;
  readonly capabilities: DeviceCapabilitiesDto;
  readonly tags?: readonly string[];
  /** NATS server URL(s), e.g. `nats://127.0.0.1:4222` (a leaf node in production). */
  readonly natsServers: string | readonly string[];
  readonly natsOptions?: NatsPassthroughOptions;
  /**
   * The device's NATS credentials: the text of its `.creds` file (user JWT + seed), as registration
   * returns them. Short-lived ones are renewed on `.credentials` at 2/3 of their lifetime, kept in
   * `<dataDir>/nats.creds` and used from the next (re)connect. Not together with `natsOptions.authenticator`.
   */
  readonly credentials?: string;
  /** Where models and `state.json` live; created if missing. One directory per device. */
  readonly dataDir: string;
  /** The pinned Ed25519 public key (SPKI PEM) that release manifests must be signed with. */
  readonly manifestPublicKeyPem: string;
  /** Interval between heartbeats, in ms. Default 5000. */
  readonly heartbeatIntervalMs?: number;
  /** Length of a telemetry window, in ms. Default 5000. */
  readonly telemetryIntervalMs?: number;
  /** How long a replaced session stays loaded before it is released (once idle), in ms. Default 2000. */
  readonly graceMs?: number;
  /** Warm-up inferences on a new session before it takes traffic. Default 3. */
  readonly warmupRuns?: number;
  /** Download retries after the first attempt, for transient failures. Default 5. */
  readonly downloadRetries?: number;
  /** First download retry delay, in ms; doubles per retry up to `downloadBackoffMaxMs`. Default 200. */
  readonly downloadBackoffBaseMs?: number;
  /** Cap of one download retry delay, in ms. Default 5000. */
  readonly downloadBackoffMaxMs?: number;
  /** Timeout of the `.register` and `.sync` requests, in ms; an unanswered `.register` is asked again with twice the timeout (up to 30 s). Default 2000. */
  readonly requestTimeoutMs?: number;
  /** Cap of the delay between connect / register / sync retries, in ms. Default 10000. */
  readonly retryMaxDelayMs?: number;
  /**
   * NATS transport (a device whose `capabilities.transport` is `nats`, or a command that says so):
   * bytes per `.artifact` chunk request. At most the server's `max_payload` less 1 KiB. Default 256 KiB.
   */
  readonly natsChunkBytes?: number;
  /** NATS transport: chunk requests in flight at once. Default 4. */
  readonly natsChunkWindow?: number;
  /** NATS transport: how long one chunk request may take, in ms. Default 10000. */
  readonly natsChunkTimeoutMs?: number;
  /** Bytes to keep free on the data directory's file system: a download that would eat into them is refused. Default 0. */
  readonly diskReserveBytes?: number;
  /** onnxruntime session options (threads, execution providers). */
  readonly sessionOptions?: SessionOptions;
  /**
   * Loaded sessions by artifact SHA-256; agents given the same cache share the session of an
   * identical artifact (the fleet simulator). Default: one cache per agent.
   */
  readonly sessionCache?: SessionCache;
  /** Local port of `POST /infer` for the device's applications; 0 picks a free port. Default: no server. */
  readonly inferencePort?: number;
  /** Address `POST /infer` listens on. Default `127.0.0.1` (the device only). */
  readonly inferenceHost?: string;
  /** Wall clock for timestamps and manifest expiry. Default `() => new Date()`. */
  readonly clock?: () => Date;
  readonly logger?: AgentLogger;
}

export const EDGE_AGENT_DEFAULTS = {
  heartbeatIntervalMs: 5000,
  telemetryIntervalMs: 5000,
  graceMs: 2000,
  warmupRuns: 3,
  downloadRetries: 5,
  downloadBackoffBaseMs: 200,
  downloadBackoffMaxMs: 5000,
  requestTimeoutMs: 2000,
  retryMaxDelayMs: 10_000,
  diskReserveBytes: 0,
  natsChunkBytes: 256 * 1024,
  natsChunkWindow: 4,
  natsChunkTimeoutMs: 10_000,
  inferenceHost: '127.0.0.1',
} as const;
