import type { ServiceName } from '@hotswap/contracts';
import type { ArtifactStore, MessageBus, ServiceMetrics } from '@hotswap/infrastructure';
import type { JwksOptions } from './auth/tokens.js';
import type { RateLimitOptions } from './rate-limits/rate-limit-rules.js';

/** What the composition root hands the gateway; everything with I/O or time comes in here. */
export interface GatewayDeps {
  /** Request/reply to the services over NATS. */
  readonly bus: MessageBus;
  /** Served at `GET /metrics` (Prometheus text); 404 without it. */
  readonly metrics?: ServiceMetrics;
  /** Where uploads are staged (`staging/<uuid>`) and signed downloads are served from. */
  readonly artifacts: ArtifactStore;
  /** HS256 key of the bearer JWTs (`issueDevToken` signs with the same one). */
  readonly jwtSecret: string;
  /** HS256 keys being rotated out: tokens they signed are still accepted until they expire. */
  readonly jwtPreviousSecrets?: readonly string[];
  /**
   * An OIDC provider's JWKS: RS256/ES256 tokens verified with its keys are accepted besides the
   * HS256 tokens of `jwtSecret`. None by default.
   */
  readonly jwks?: JwksOptions;
  /**
   * Per-user request limits, counted in the NATS KV bucket `hotswap-rate-limits` so that every
   * gateway replica shares them (needs JetStream on `bus`). No limits when absent.
   */
  readonly rateLimits?: RateLimitOptions;
  /** HMAC key of signed artifact download URLs (`signUrl` / `verifySignedUrl`). */
  readonly urlSigningSecret: string;
  /** URL signing keys being rotated out: URLs they signed stay valid until they expire. */
  readonly urlSigningPreviousSecrets?: readonly string[];
  /** Largest accepted model artifact, in bytes (413 above). */
  readonly maxUploadBytes: number;
  /** Current time, for token expiry and download URL expiry. */
  readonly clock: () => Date;
  /** SHA-256 (hex) of the accepted device registration API keys (`X-Api-Key`); none by default. */
  readonly registrationApiKeySha256?: readonly string[];
  /** Services whose `health` query `/readyz` asks; none by default. */
  readonly serviceNames?: readonly ServiceName[];
  /** How long to wait for a service's reply, in milliseconds. Default 5000. */
  readonly requestTimeoutMs?: number;
  /**
   * How long to wait for the registry to take an uploaded artifact (it reads, inspects and moves
   * it, which grows with the size), in milliseconds. Default 60000.
   */
  readonly uploadTimeoutMs?: number;
  /**
   * `GET /api/v1/distributions/{id}/events`: how often it asks for the status and metrics (default
   * 1000 ms) and sends a heartbeat comment (default 15000 ms). Tests compress them.
   */
  readonly distributionEvents?: { readonly pollIntervalMs?: number; readonly heartbeatIntervalMs?: number };
}

/** Injection token of the `GatewayDeps`. */
export const GATEWAY_DEPS = Symbol('GatewayDeps');

export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;
export const DEFAULT_UPLOAD_TIMEOUT_MS = 60_000;
