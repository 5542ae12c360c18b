import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  IsBoolean, IsDefined, IsIn, IsInt, IsISO8601, IsNumber, IsOptional, IsString, Matches, Max, Min, ValidateNested,
  IsArray, ArrayMaxSize, MaxLength, IsUrl, IsBase64, IsObject,
} from 'class-validator';
import { DEVICE_ID_PATTERN } from './ids.js';
import { ARTIFACT_TRANSPORTS, type ArtifactTransport } from './vocabulary.js';

/**
 * Messages of the device plane (`hotswap.device.<id>.*`). Both sides validate every message on
 * arrival with these classes; a message that fails is rejected with the reason.
 */

const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Characters of an artifact key; the responder still checks segments (`..`) with `assertValidArtifactKey`. */
const ARTIFACT_KEY_PATTERN = /^[A-Za-z0-9._/-]+$/;

export class DeviceCapabilitiesDto {
  @IsInt() @Min(1) @Max(1024) cpuCores!: number;
  @IsBoolean() gpu!: boolean;
  @IsInt() @Min(1) memoryMb!: number;
  @IsInt() @Min(1) storageMb!: number;
  /** How the device can receive artifacts; `nats` for a site with no HTTP route. Default `http`. */
  @IsOptional() @IsIn(ARTIFACT_TRANSPORTS, { message: `transport must be one of ${ARTIFACT_TRANSPORTS.join(', ')}` }) transport?: ArtifactTransport;
}

/** What the control plane promises about an artifact; signed with Ed25519. */
export class ReleaseManifest {
  @IsString() @MaxLength(200) modelId!: string;
  @IsString() @MaxLength(100) name!: string;
  @IsString() @MaxLength(100) version!: string;
  @Matches(SHA256_HEX, { message: 'sha256 must be 64 lowercase hex characters' }) sha256!: string;
  @IsInt() @Min(1) sizeBytes!: number;
  @IsISO8601() createdAt!: string;
  @IsISO8601() expiresAt!: string;
}

export class SignedManifest {
  @IsDefined() @ValidateNested() @Type(() => ReleaseManifest) manifest!: ReleaseManifest;
  /** Base64 Ed25519 signature over `canonicalManifest(manifest)`. */
  @IsBase64() signature!: string;
}

/** The bytes a manifest signature covers: keys in a fixed order, no whitespace. */
export function canonicalManifest(m: ReleaseManifest): string {
  return JSON.stringify([m.modelId, m.name, m.version, m.sha256, m.sizeBytes, m.createdAt, m.expiresAt]);
}

/**
 * The control plane's signed permission to go back to an older model. Devices refuse a manifest
 * older than the one they run (rollback protection) unless the command carries one of these naming
 * that exact artifact; `expiresAt` bounds how long a captured instruction can be replayed.
 */
export class RollbackInstruction {
  /** The model to roll back to (the command's `modelId`). */
  @IsString() @MaxLength(200) modelId!: string;
  /** The target artifact's SHA-256 (the manifest's `sha256`). */
  @Matches(SHA256_HEX, { message: 'sha256 must be 64 lowercase hex characters' }) sha256!: string;
  @IsISO8601() issuedAt!: string;
  @IsISO8601() expiresAt!: string;
  @IsOptional() @IsString() @MaxLength(500) reason?: string;
}

export class SignedRollback {
  @IsDefined() @ValidateNested() @Type(() => RollbackInstruction) instruction!: RollbackInstruction;
  /** Base64 Ed25519 signature over `canonicalRollback(instruction)`, by the manifest key. */
  @IsBase64() signature!: string;
}

/** The bytes a rollback signature covers; the leading tag keeps it distinct from a manifest's. */
export function canonicalRollback(r: RollbackInstruction): string {
  return JSON.stringify(['hotswap-rollback', r.modelId, r.sha256, r.issuedAt, r.expiresAt, r.reason ?? null]);
}

/** control plane → device on `.cmd`: load this model and swap it in. */
export class SwapCommand {
  @IsIn(['swap']) type!: 'swap';
  @IsString() @MaxLength(100) commandId!: string;
  @IsOptional() @IsString() @MaxLength(100) distributionId?: string;
  @IsString() @MaxLength(200) modelId!: string;
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] }) artifactUrl!: string;
  /**
   * How to fetch the artifact, when the distribution chose one; absent: the device's own
   * `transport` capability decides (`auto`). `nats` fetches `artifactKey` in chunks on `.artifact`.
   */
  @IsOptional() @IsIn(ARTIFACT_TRANSPORTS, { message: `transport must be one of ${ARTIFACT_TRANSPORTS.join(', ')}` }) transport?: ArtifactTransport;
  /** The artifact's key in the store: what a NATS transfer asks `.artifact` for. */
  @IsOptional() @Matches(ARTIFACT_KEY_PATTERN, { message: 'artifactKey must be a relative path of letters, digits, ".", "_", "-" and "/"' }) @MaxLength(512) artifactKey?: string;
  @IsDefined() @ValidateNested() @Type(() => SignedManifest) release!: SignedManifest;
  @IsISO8601() issuedAt!: string;
  /** Present when the model is older than the one it replaces: the signed permission to roll back. */
  @IsOptional() @ValidateNested() @Type(() => SignedRollback) rollback?: SignedRollback;
}

/**
 * validator → device on `.validate` (request/reply): load this model in a slot of its own, WITHOUT
 * swapping it in, time `inferences` inferences on generated inputs and answer with the figures.
 * Signed and downloaded exactly like a swap.
 */
export class DeviceValidationRequest {
  @IsIn(['validate']) type!: 'validate';
  @IsString() @MaxLength(100) validationId!: string;
  @IsString() @MaxLength(200) modelId!: string;
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] }) artifactUrl!: string;
  @IsDefined() @ValidateNested() @Type(() => SignedManifest) release!: SignedManifest;
  /** Timed inferences. */
  @IsInt() @Min(1) @Max(100_000) inferences!: number;
  /** Untimed inferences before them. */
  @IsInt() @Min(0) @Max(1_000) warmup!: number;
  @IsISO8601() issuedAt!: string;
}

/** The device's answer to a `DeviceValidationRequest`: the figures, or why there are none. */
export interface DeviceValidationReply {
  readonly validationId: string;
  readonly deviceId: string;
  readonly ok: boolean;
  /** Why the model could not be validated here (manifest, download, checksum, load), when not ok. */
  readonly reason?: string;
  /** Time to load the model, in ms. */
  readonly loadMs?: number;
  /** Resident-memory growth of the device's process while loaded and running, in MB. */
  readonly memoryMb?: number;
  readonly inferences?: number;
  /** Latency percentiles of the timed inferences, in ms. */
  readonly latencyMs?: { readonly p50: number; readonly p95: number; readonly p99: number };
  /** Inferences per second over the timed run. */
  readonly throughputPerSec?: number;
  /** Failed inferences over all timed ones, 0..1. */
  readonly errorRate?: number;
  readonly firstError?: string;
}

/** The device's reply to a command: accepted (it will report progress on `.status`) or not. */
export interface CommandAck {
  readonly commandId: string;
  readonly accepted: boolean;
  /** Why the command was refused, or `duplicate` when it was already received. */
  readonly reason?: string;
}

export const SWAP_PHASES = ['received', 'downloading', 'verifying', 'loading', 'warming', 'swapped', 'failed'] as const;
export type SwapPhase = (typeof SWAP_PHASES)[number];

export class SwapTimings {
  @IsOptional() @IsNumber() downloadMs?: number;
  @IsOptional() @IsNumber() verifyMs?: number;
  @IsOptional() @IsNumber() loadMs?: number;
  @IsOptional() @IsNumber() warmupMs?: number;
  /** Time to flip the active pointer. */
  @IsOptional() @IsNumber() activateMs?: number;
  /** From command received to the new model serving. */
  @IsOptional() @IsNumber() totalMs?: number;
}

/** device → control plane on `.status`: progress of one command. */
export class DeviceStatusReport {
  @Matches(DEVICE_ID_PATTERN) deviceId!: string;
  @IsString() @MaxLength(100) commandId!: string;
  @IsOptional() @IsString() @MaxLength(100) distributionId?: string;
  @IsString() @MaxLength(200) modelId!: string;
  @IsIn(SWAP_PHASES) phase!: SwapPhase;
  @IsOptional() @IsString() @MaxLength(2000) reason?: string;
  @IsOptional() @ValidateNested() @Type(() => SwapTimings) timings?: SwapTimings;
  @IsISO8601() at!: string;
}

/** device → control plane on `.heartbeat`, every few seconds. Not stored as an event. */
export class Heartbeat {
  @Matches(DEVICE_ID_PATTERN) deviceId!: string;
  @IsOptional() @IsString() @MaxLength(200) activeModelId?: string;
  @IsISO8601() at!: string;
}

/** device → control plane on `.log`: one warning or error line of the agent's log. Not stored as an event. */
export class DeviceLogLine {
  @Matches(DEVICE_ID_PATTERN) deviceId!: string;
  @IsIn(['warn', 'error']) level!: 'warn' | 'error';
  @IsString() @MaxLength(2000) message!: string;
  /** The line's structured fields, as the agent logged them. */
  @IsOptional() @IsObject() fields?: Record<string, unknown>;
  /** Lines the rate limit dropped since the previous forwarded line. */
  @IsOptional() @IsInt() @Min(0) dropped?: number;
  @IsISO8601() at!: string;
}

export class LatencySummary {
  @IsNumber() @Min(0) p50!: number;
  @IsNumber() @Min(0) p95!: number;
  @IsNumber() @Min(0) p99!: number;
}

/**
 * Upper bounds (inclusive, ms) of the latency histogram buckets of every telemetry window; a last
 * bucket counts what lies above the last bound.
 */
export const LATENCY_HISTOGRAM_BOUNDS_MS = [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] as const;

/** Every inference of a window by latency: `counts[i]` are those in (`boundsMs[i-1]`, `boundsMs[i]`]. */
export class LatencyHistogram {
  @IsArray() @ArrayMaxSize(100) @IsNumber({}, { each: true }) boundsMs!: number[];
  /** `boundsMs.length + 1` counts; the last is above the last bound. */
  @IsArray() @ArrayMaxSize(101) @IsInt({ each: true }) @Min(0, { each: true }) counts!: number[];
}

/** device → control plane on `.telemetry`: one aggregated window of inferences. */
export class TelemetryWindow {
  @Matches(DEVICE_ID_PATTERN) deviceId!: string;
  @IsString() @MaxLength(200) modelId!: string;
  @IsISO8601() windowStart!: string;
  @IsISO8601() windowEnd!: string;
  @IsInt() @Min(0) count!: number;
  @IsInt() @Min(0) errors!: number;
  @ValidateNested() @Type(() => LatencySummary) latencyMs!: LatencySummary;
  @IsOptional() @ValidateNested() @Type(() => LatencyHistogram) histogram?: LatencyHistogram;
  /** Share of labelled inferences whose output matched the label; present when labels came. */
  @IsOptional() @IsNumber() @Min(0) @Max(1) accuracy?: number;
  /** How many inferences of the window came with a label (the denominator of `accuracy`). */
  @IsOptional() @IsInt() @Min(0) labelled?: number;
}

/** device → control plane on `.register`, a request. */
export class DeviceAnnouncement {
  @Matches(DEVICE_ID_PATTERN) deviceId!: string;
  @IsString() @MaxLength(100) deviceType!: string;
  @IsString() @MaxLength(100) region!: string;
  @ValidateNested() @Type(() => DeviceCapabilitiesDto) capabilities!: DeviceCapabilitiesDto;
  @IsOptional() @IsArray() @ArrayMaxSize(50) @IsString({ each: true }) tags?: string[];
}

/** The reply to `.register`. */
export interface RegisterReply {
  readonly accepted: boolean;
  readonly deviceId: string;
  readonly reason?: string;
}

/** device → control plane on `.credentials`, a request: renew my NATS credentials. */
export class CredentialsRequest {
  @Matches(DEVICE_ID_PATTERN) deviceId!: string;
}

/** The reply to `.credentials`: a fresh `.creds`, or `{ error }` with the reason (e.g. the device was deregistered). */
export interface CredentialsReply {
  /** The device's NATS `.creds` (user JWT + seed). */
  readonly token: string;
  readonly inboxPrefix: string;
  /** ISO 8601; renew before then. */
  readonly expiresAt: string;
}

/** device → control plane on `.sync`, a request sent on every (re)connect. */
export class SyncRequest {
  @Matches(DEVICE_ID_PATTERN) deviceId!: string;
  @IsOptional() @IsString() @MaxLength(200) activeModelId?: string;
}

/**
 * device → control plane on `.artifact`, a request: bytes `offset` … `offset + length - 1` of the
 * artifact of a swap command (NATS transport). The reply's body is the bytes, exactly `length` of
 * them or up to the end of the artifact; a refusal has an empty body and the
 * `ARTIFACT_CHUNK_HEADERS.errorCode` / `.error` headers (`BAD_REQUEST`, `NOT_FOUND`, `FORBIDDEN`,
 * `UNAVAILABLE`, `INTERNAL`) with the reason.
 */
export class ArtifactChunkRequest {
  /** The model whose artifact this is: the key must be that model version's artifact. */
  @IsString() @MaxLength(200) modelId!: string;
  @Matches(ARTIFACT_KEY_PATTERN, { message: 'artifactKey must be a relative path of letters, digits, ".", "_", "-" and "/"' }) @MaxLength(512) artifactKey!: string;
  @IsInt() @Min(0) offset!: number;
  @IsInt() @Min(1) length!: number;
}

/** Headers of an `.artifact` reply. */
export const ARTIFACT_CHUNK_HEADERS = {
  /** The artifact's total size in bytes (every successful reply). */
  size: 'Hotswap-Artifact-Size',
  /** Why the chunk was refused (an error reply). */
  error: 'Hotswap-Error',
  /** The refusal's code, as in `{ error: { code } }` replies. */
  errorCode: 'Hotswap-Error-Code',
} as const;

/** The reply to `.sync`: the model the device must run, as a swap command, or none yet. */
export interface SyncReply {
  readonly desired: SwapCommand | null;
}
