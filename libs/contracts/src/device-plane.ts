import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  IsBoolean, IsDefined, IsIn, IsInt, IsISO8601, IsNumber, IsOptional, IsString, Matches, Max, Min, ValidateNested,
  IsArray, ArrayMaxSize, MaxLength, IsUrl, IsBase64,
} from 'class-validator';
import { DEVICE_ID_PATTERN } from './ids.js';

/**
 * Messages of the device plane (`hotswap.device.<id>.*`). Both sides validate every message on
 * arrival with these classes; a message that fails is rejected with the reason.
 */

const SHA256_HEX = /^[0-9a-f]{64}$/;

export class DeviceCapabilitiesDto {
  @IsInt() @Min(1) @Max(1024) cpuCores!: number;
  @IsBoolean() gpu!: boolean;
  @IsInt() @Min(1) memoryMb!: number;
  @IsInt() @Min(1) storageMb!: number;
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

/** control plane → device on `.cmd`: load this model and swap it in. */
export class SwapCommand {
  @IsIn(['swap']) type!: 'swap';
  @IsString() @MaxLength(100) commandId!: string;
  @IsOptional() @IsString() @MaxLength(100) distributionId?: string;
  @IsString() @MaxLength(200) modelId!: string;
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] }) artifactUrl!: string;
  @IsDefined() @ValidateNested() @Type(() => SignedManifest) release!: SignedManifest;
  @IsISO8601() issuedAt!: string;
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

export class LatencySummary {
  @IsNumber() @Min(0) p50!: number;
  @IsNumber() @Min(0) p95!: number;
  @IsNumber() @Min(0) p99!: number;
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
  @IsOptional() @IsNumber() @Min(0) @Max(1) accuracy?: number;
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

/** device → control plane on `.sync`, a request sent on every (re)connect. */
export class SyncRequest {
  @Matches(DEVICE_ID_PATTERN) deviceId!: string;
  @IsOptional() @IsString() @MaxLength(200) activeModelId?: string;
}

/** The reply to `.sync`: the model the device must run, as a swap command, or none yet. */
export interface SyncReply {
  readonly desired: SwapCommand | null;
}
