import 'reflect-metadata';
import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsOptional, IsString, Matches, MaxLength, ValidateNested } from 'class-validator';
import { DEVICE_ID_PATTERN } from './ids.js';
import { ARTIFACT_TRANSPORTS, type ArtifactTransport } from './vocabulary.js';

/**
 * Device affinity between distributor instances: each device is driven (sent its commands) by the
 * one instance the hash ring over the live instances names; the others hand its commands over on
 * `Commands.driveDevice(instance)`.
 */

/** What the control plane wants a device to run; the value of its `hotswap-desired` KV key. */
export class DesiredModel {
  @IsString() @MaxLength(200) modelId!: string;
  @IsString() @MaxLength(200) commandId!: string;
  @IsOptional() @IsString() @MaxLength(100) distributionId?: string;
  /** Going back to an older version: the command carries a signed rollback instruction. */
  @IsOptional() @IsBoolean() rollback?: boolean;
  /** The transport the distribution forced; absent: the device's capability decides (`auto`). */
  @IsOptional() @IsIn(ARTIFACT_TRANSPORTS) transport?: ArtifactTransport;
}

/** distributor → the instance that drives the device: send it this desired model. Acked `{ accepted }`. */
export class DriveDeviceCommand {
  @Matches(DEVICE_ID_PATTERN) deviceId!: string;
  /** Global event-store position of the request (a decimal integer): a lane drops anything older than what it sent. */
  @Matches(/^\d{1,30}$/) position!: string;
  @ValidateNested() @Type(() => DesiredModel) desired!: DesiredModel;
  /** W3C traceparent of the update request, so the command continues its trace. */
  @IsOptional() @IsString() @MaxLength(200) traceparent?: string;
}

export interface DriveDeviceReply {
  readonly accepted: boolean;
}
