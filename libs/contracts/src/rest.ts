import 'reflect-metadata';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize, ArrayMinSize, IsArray, IsBoolean, IsIn, IsInt, IsNumber, IsOptional, IsPositive, IsString, Matches, Max, MaxLength, Min,
  ValidateNested, IsObject, ValidateBy, IsISO8601,
} from 'class-validator';
import { AB_METRICS, type AbMetric } from './distribution.js';
import { InvalidDurationError, parseIsoDuration } from './iso-duration.js';
import { DeviceCapabilitiesDto } from './device-plane.js';
import { DEVICE_ID_PATTERN, MODEL_NAME_PATTERN, SEMVER_PATTERN } from './ids.js';
import {
  ARTIFACT_TRANSPORTS, DATASET_TASKS, DEVICE_STATUSES, DISTRIBUTION_STATUSES, FRAMEWORKS, MODEL_STATUSES, ROLLBACK_POLICIES, STRATEGIES, TRANSPORT_CHOICES,
  type ArtifactTransport, type TransportChoice, type DatasetTask, type DeviceStatus, type DistributionStatus, type Framework, type ModelStatus, type RollbackPolicy, type Strategy,
} from './vocabulary.js';

/** REST DTOs, validated by the gateway's global ValidationPipe (whitelist, forbidNonWhitelisted). */

/** The text fields of `POST /api/v1/models` (multipart). */
export class UploadModelFieldsDto {
  @Matches(MODEL_NAME_PATTERN, { message: 'name must be letters, digits, ".", "_" or "-", starting with a letter or digit (max 100)' })
  name!: string;
  @Matches(SEMVER_PATTERN, { message: 'version must be a semantic version MAJOR.MINOR.PATCH' })
  version!: string;
  @IsIn(FRAMEWORKS, { message: `framework must be one of ${FRAMEWORKS.join(', ')}` })
  framework!: Framework;
  @IsOptional() @Matches(/^[0-9a-fA-F]{64}$/, { message: 'checksum must be a hex SHA-256 (64 characters)' })
  checksum?: string;
  /** JSON text: inputSchema, outputSchema, requirements, description. */
  @IsOptional() @IsString() @MaxLength(64 * 1024)
  metadata?: string;
}

/** The most per-device rows a distribution's status carries at once (and the default). */
export const MAX_STATUS_DEVICES = 1000;

export class PageQueryDto {
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit?: number;
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) offset?: number;
}

export class ListModelsQueryDto extends PageQueryDto {
  @IsOptional() @IsString() @MaxLength(100) name?: string;
  @IsOptional() @IsIn(MODEL_STATUSES) status?: ModelStatus;
}

export class ListDevicesQueryDto extends PageQueryDto {
  @IsOptional() @IsString() @MaxLength(100) region?: string;
  @IsOptional() @IsString() @MaxLength(100) deviceType?: string;
  @IsOptional() @IsIn(DEVICE_STATUSES) status?: DeviceStatus;
  @IsOptional() @IsString() @MaxLength(100) tag?: string;
  @IsOptional() @IsString() @MaxLength(200) modelId?: string;
  /** `gpu=true` / `gpu=false` in a query string. */
  @IsOptional() @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean({ message: 'gpu must be true or false' }) gpu?: boolean;
  @IsOptional() @Type(() => Number) @IsInt({ message: 'minMemoryMb must be an integer (megabytes)' }) @Min(0, { message: 'minMemoryMb must be >= 0 (megabytes)' })
  minMemoryMb?: number;
  @IsOptional() @Type(() => Number) @IsInt({ message: 'minCpuCores must be an integer' }) @Min(0, { message: 'minCpuCores must be >= 0' })
  minCpuCores?: number;
  @IsOptional() @Type(() => Number) @IsInt({ message: 'minStorageMb must be an integer (megabytes)' }) @Min(0, { message: 'minStorageMb must be >= 0 (megabytes)' })
  minStorageMb?: number;
  /** Devices that receive artifacts this way (a device that reports none counts as `http`). */
  @IsOptional() @IsIn(ARTIFACT_TRANSPORTS, { message: `transport must be one of ${ARTIFACT_TRANSPORTS.join(', ')}` }) transport?: ArtifactTransport;
}

const finite = { allowNaN: false, allowInfinity: false } as const;

export class TargetCapabilitiesDto {
  @IsOptional() @IsBoolean({ message: 'gpu must be true or false' }) gpu?: boolean;
  @IsOptional() @IsInt({ message: 'minCpuCores must be an integer' }) @Min(0, { message: 'minCpuCores must be >= 0' }) minCpuCores?: number;
  @IsOptional() @IsInt({ message: 'minMemoryMb must be an integer (megabytes)' }) @Min(0, { message: 'minMemoryMb must be >= 0 (megabytes)' }) minMemoryMb?: number;
  @IsOptional() @IsInt({ message: 'minStorageMb must be an integer (megabytes)' }) @Min(0, { message: 'minStorageMb must be >= 0 (megabytes)' }) minStorageMb?: number;
  @IsOptional() @IsIn(ARTIFACT_TRANSPORTS, { message: `transport must be one of ${ARTIFACT_TRANSPORTS.join(', ')}` }) transport?: ArtifactTransport;
}

export class TargetFilterDto {
  @IsOptional() @IsString() @MaxLength(100) region?: string;
  @IsOptional() @IsString() @MaxLength(100) deviceType?: string;
  @IsOptional() @IsArray() @IsString({ each: true }) @ArrayMaxSize(50) tags?: string[];
  @IsOptional() @IsObject() @ValidateNested() @Type(() => TargetCapabilitiesDto) capabilities?: TargetCapabilitiesDto;
}

export class SuccessCriteriaDto {
  @IsOptional() @IsNumber() @Min(0) maxLatencyMs?: number;
  @IsOptional() @IsNumber() @Min(0) @Max(1) minAccuracy?: number;
  @IsOptional() @IsNumber() @Min(0) @Max(1) maxErrorRate?: number;
}

/** A property that must be an ISO 8601 duration (`PT15M`); the message says what is wrong with it. */
function IsIsoDuration(): PropertyDecorator {
  return ValidateBy({
    name: 'isIsoDuration',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && isoDurationProblem(value) === undefined,
      defaultMessage: (args) => `${args?.property ?? 'duration'} must be an ISO 8601 duration such as PT15M or PT30S: ${
        typeof args?.value === 'string' ? isoDurationProblem(args.value) : `got ${typeof args?.value}`}`,
    },
  });
}

function isoDurationProblem(value: string): string | undefined {
  try {
    parseIsoDuration(value);
    return undefined;
  } catch (error) {
    return error instanceof InvalidDurationError ? error.message : String(error);
  }
}

export class ScheduleDto {
  @IsISO8601({ strict: true }, { message: 'schedule.startAt must be an ISO 8601 instant such as 2026-12-01T02:00:00Z' }) startAt!: string;
}

const HH_MM = /^([01]\d|2[0-3]):[0-5]\d$/;

export class MaintenanceWindowDto {
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(100) @IsString({ each: true }) @MaxLength(100, { each: true }) regions!: string[];
  @Matches(HH_MM, { message: 'start must be a UTC time of day HH:MM' }) start!: string;
  @Matches(HH_MM, { message: 'end must be a UTC time of day HH:MM' }) end!: string;
}

export class ProgressiveStageDto {
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'percentage must be a number' })
  @Min(0, { message: 'percentage must be between 0 and 100' }) @Max(100, { message: 'percentage must be between 0 and 100' })
  percentage!: number;
  @IsIsoDuration() duration!: string;
}

export class WinnerCriteriaDto {
  @IsIn(AB_METRICS, { message: `metric must be one of ${AB_METRICS.join(', ')}` }) metric!: AbMetric;
  @IsOptional() @IsInt({ message: 'minSamples must be an integer' }) @Min(1, { message: 'minSamples must be >= 1' }) minSamples?: number;
  @IsOptional() @IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'significanceLevel must be a number' })
  @Min(0.0001, { message: 'significanceLevel must be between 0.0001 and 0.5' }) @Max(0.5, { message: 'significanceLevel must be between 0.0001 and 0.5' })
  significanceLevel?: number;
  @IsOptional() @IsBoolean({ message: 'rolloutWinner must be true or false' }) rolloutWinner?: boolean;
}

export class ExecutionSettingsDto {
  @IsOptional() @IsInt({ message: 'maxInFlight must be an integer' }) @Min(1, { message: 'maxInFlight must be >= 1' }) @Max(100_000) maxInFlight?: number;
  @IsOptional() @IsInt({ message: 'ratePerMinute must be an integer' }) @Min(0, { message: 'ratePerMinute must be >= 0 (0 = no limit)' }) ratePerMinute?: number;
  @IsOptional() @IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'rampFactor must be a number' })
  @Min(1, { message: 'rampFactor must be >= 1 (1 = no ramp)' }) @Max(100, { message: 'rampFactor must be <= 100' }) rampFactor?: number;
  @IsOptional() @IsInt({ message: 'initialRatePerMinute must be an integer' }) @Min(1, { message: 'initialRatePerMinute must be >= 1' }) initialRatePerMinute?: number;
  @IsOptional() @IsIsoDuration() deviceTimeout?: string;
  @IsOptional() @IsInt({ message: 'maxRetries must be an integer' }) @Min(0, { message: 'maxRetries must be >= 0' }) @Max(10, { message: 'maxRetries must be <= 10' }) maxRetries?: number;
  @IsOptional() @IsIsoDuration() retryBackoff?: string;
  @IsOptional() @IsIsoDuration() healthWindow?: string;
  @IsOptional() @IsInt({ message: 'minHealthSamples must be an integer' }) @Min(0, { message: 'minHealthSamples must be >= 0' }) minHealthSamples?: number;
  @IsOptional() @IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'maxFailurePercentage must be a number' })
  @Min(0, { message: 'maxFailurePercentage must be between 0 and 100' }) @Max(100, { message: 'maxFailurePercentage must be between 0 and 100' })
  maxFailurePercentage?: number;
}

/** `POST /api/v1/distributions`: the common fields, the strategy's fields (flat) and the execution settings. */
export class CreateDistributionDto {
  /** Required except for ABTesting, where it defaults to modelB. */
  @IsOptional() @IsString() @MaxLength(200) modelId?: string;
  @IsIn(STRATEGIES, { message: `strategy must be one of ${STRATEGIES.join(', ')}` }) strategy!: Strategy;
  @IsOptional() @IsArray() @ArrayMinSize(1) @ArrayMaxSize(10000)
  @Matches(DEVICE_ID_PATTERN, { each: true, message: 'each of targetDevices must be a device id (letters, digits, "_" or "-")' })
  targetDevices?: string[];
  @IsOptional() @IsObject() @ValidateNested() @Type(() => TargetFilterDto) targetFilter?: TargetFilterDto;
  @IsOptional() @IsObject() @ValidateNested() @Type(() => SuccessCriteriaDto) successCriteria?: SuccessCriteriaDto;
  @IsOptional() @IsObject() @ValidateNested() @Type(() => ScheduleDto) schedule?: ScheduleDto;
  @IsOptional() @IsIn(ROLLBACK_POLICIES, { message: `rollbackPolicy must be one of ${ROLLBACK_POLICIES.join(', ')}` }) rollbackPolicy?: RollbackPolicy;
  @IsOptional() @IsObject() @ValidateNested() @Type(() => ExecutionSettingsDto) execution?: ExecutionSettingsDto;
  @IsOptional() @IsArray() @ArrayMaxSize(50) @ValidateNested({ each: true }) @Type(() => MaintenanceWindowDto)
  maintenanceWindows?: MaintenanceWindowDto[];
  // RegionalRollout
  @IsOptional() @IsArray() @ArrayMinSize(1) @ArrayMaxSize(100) @IsString({ each: true }) @MaxLength(100, { each: true }) regions?: string[];
  @IsOptional() @IsIsoDuration() delayBetweenRegions?: string;
  // Canary
  @IsOptional() @IsNumber(finite, { message: 'canaryPercentage must be a number' })
  @Min(0, { message: 'canaryPercentage must be between 0 and 100' }) @Max(100, { message: 'canaryPercentage must be between 0 and 100' })
  canaryPercentage?: number;
  @IsOptional() @IsIsoDuration() canaryDuration?: string;
  // ABTesting
  @IsOptional() @IsString() @MaxLength(200) modelA?: string;
  @IsOptional() @IsString() @MaxLength(200) modelB?: string;
  @IsOptional() @IsNumber(finite, { message: 'splitPercentage must be a number' })
  @Min(0, { message: 'splitPercentage must be between 0 and 100' }) @Max(100, { message: 'splitPercentage must be between 0 and 100' })
  splitPercentage?: number;
  @IsOptional() @IsIsoDuration() testDuration?: string;
  @IsOptional() @IsObject() @ValidateNested() @Type(() => WinnerCriteriaDto) winnerCriteria?: WinnerCriteriaDto;
  // ProgressiveRollout
  @IsOptional() @IsArray() @ArrayMinSize(1) @ArrayMaxSize(20) @ValidateNested({ each: true }) @Type(() => ProgressiveStageDto)
  stages?: ProgressiveStageDto[];
  @IsOptional() @IsBoolean({ message: 'autoProgress must be true or false' }) autoProgress?: boolean;
  /** How devices receive the artifact: `auto` (default) follows each device's `transport` capability. */
  @IsOptional() @IsIn(TRANSPORT_CHOICES, { message: `transport must be one of ${TRANSPORT_CHOICES.join(', ')}` }) transport?: TransportChoice;
}

/** `?dryRun=true` on `POST /api/v1/distributions`. */
export class CreateDistributionQueryDto {
  @IsOptional() @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean({ message: 'dryRun must be true or false' }) dryRun?: boolean;
}

/** The optional body of the operator verbs (`POST /api/v1/distributions/{id}/<verb>`). */
export class DistributionVerbDto {
  @IsOptional() @IsString({ message: 'reason must be a string' }) @MaxLength(500, { message: 'reason must be at most 500 characters' })
  reason?: string;
}

/**
 * `GET /api/v1/distributions/{id}/status?devicesOffset=&devicesLimit=`: the page of the per-device
 * rows (a 10 000-device rollout's rows would not fit one NATS message, nor help anyone).
 */
export class DistributionDevicesPageDto {
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) devicesOffset?: number;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(MAX_STATUS_DEVICES) devicesLimit?: number;
}

export class ListDistributionsQueryDto extends PageQueryDto {
  @IsOptional() @IsIn(DISTRIBUTION_STATUSES, { message: `status must be one of ${DISTRIBUTION_STATUSES.join(', ')}` }) status?: DistributionStatus;
  @IsOptional() @IsString() @MaxLength(200) modelId?: string;
}

/** `POST /api/v1/devices`. */
export class RegisterDeviceDto {
  @IsOptional() @Matches(DEVICE_ID_PATTERN, { message: 'id must be letters, digits, "_" or "-", starting with a letter or digit (max 100)' })
  id?: string;
  @IsString() @MaxLength(100) deviceType!: string;
  @IsString() @MaxLength(100) region!: string;
  @IsObject() @ValidateNested() @Type(() => DeviceCapabilitiesDto) capabilities!: DeviceCapabilitiesDto;
  @IsOptional() @IsArray() @ArrayMaxSize(50) @IsString({ each: true }) tags?: string[];
}

/** `PUT /api/v1/devices/{id}`: the attributes given replace the recorded ones; at least one is required. */
export class UpdateDeviceDto {
  @IsOptional() @IsString() @MaxLength(100) deviceType?: string;
  @IsOptional() @IsString() @MaxLength(100) region?: string;
  @IsOptional() @IsObject() @ValidateNested() @Type(() => DeviceCapabilitiesDto) capabilities?: DeviceCapabilitiesDto;
  @IsOptional() @IsArray() @ArrayMaxSize(50) @IsString({ each: true }) tags?: string[];
}

/** Per-request overrides of the quality gate (`POST /models/{id}/validate`); see `ValidationThresholds`. */
export class ValidationThresholdsDto {
  @IsOptional() @IsNumber(finite, { message: 'latencyP99Ms must be a number of milliseconds' })
  @IsPositive({ message: 'latencyP99Ms must be > 0 (milliseconds)' })
  latencyP99Ms?: number;
  @IsOptional() @IsNumber(finite, { message: 'minThroughputPerSec must be a number of inferences per second' })
  @Min(0, { message: 'minThroughputPerSec must be >= 0 (inferences per second)' })
  minThroughputPerSec?: number;
  @IsOptional() @IsNumber(finite, { message: 'maxMemoryMb must be a number of megabytes' })
  @IsPositive({ message: 'maxMemoryMb must be > 0 (megabytes)' })
  maxMemoryMb?: number;
  @IsOptional() @IsNumber(finite, { message: 'minAccuracyRatio must be a number' })
  @Min(0, { message: 'minAccuracyRatio must be between 0 and 1' }) @Max(1, { message: 'minAccuracyRatio must be between 0 and 1' })
  minAccuracyRatio?: number;
  @IsOptional() @IsNumber(finite, { message: 'maxErrorRate must be a number' })
  @Min(0, { message: 'maxErrorRate must be between 0 and 1' }) @Max(1, { message: 'maxErrorRate must be between 0 and 1' })
  maxErrorRate?: number;
}

/** The body of `POST /api/v1/models/{id}/validate`; both fields are optional. */
export class ValidateModelDto {
  @IsOptional() @IsObject({ message: 'thresholds must be an object' }) @ValidateNested() @Type(() => ValidationThresholdsDto)
  thresholds?: ValidationThresholdsDto;
  @IsOptional() @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, { message: 'datasetId must be a dataset id (letters, digits, ".", "_" or "-", max 200)' })
  datasetId?: string;
  /** `true`: load test and benchmark on an Online device tagged `validation`; a device id: on that device; `false`: in the validator. */
  @IsOptional()
  @ValidateBy({
    name: 'isValidationTarget',
    validator: {
      validate: (value: unknown) => typeof value === 'boolean' || (typeof value === 'string' && DEVICE_ID_PATTERN.test(value)),
      defaultMessage: () => 'onDevice must be true, false or a device id',
    },
  })
  onDevice?: boolean | string;
}

/** The descriptive fields of `POST /api/v1/datasets`: JSON properties, or form fields of the NPY multipart form. */
export class DatasetFieldsDto {
  @Matches(MODEL_NAME_PATTERN, { message: 'name must be letters, digits, ".", "_" or "-", starting with a letter or digit (max 100)' })
  name!: string;
  @IsOptional() @IsIn(DATASET_TASKS, { message: `task must be one of ${DATASET_TASKS.join(', ')}` })
  task?: DatasetTask;
  @IsOptional() @IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'tolerance must be a number' })
  @Min(0, { message: 'tolerance must be >= 0 (absolute difference)' })
  tolerance?: number;
  @IsOptional() @IsString({ message: 'output must be a string' }) @MaxLength(200, { message: 'output must be at most 200 characters' })
  output?: string;
}

/**
 * The JSON body of `POST /api/v1/datasets`. `inputs` maps each model input name to
 * `{ type, dims, data }` (`dims` of one sample, `data` one flat list of values per sample) and
 * `labels` holds one label per sample; the validator checks their shapes and answers 400 naming
 * the field.
 */
export class RegisterDatasetDto extends DatasetFieldsDto {
  @IsObject({ message: 'inputs must be an object mapping each model input name to { type, dims, data }' })
  inputs!: Record<string, unknown>;
  @IsArray({ message: 'labels must be an array with one label per sample' })
  labels!: unknown[];
}

/** The body of `POST /api/v1/models/{name}/versions/{version}/deprecate`; optional. */
export class DeprecateModelVersionDto {
  @IsOptional() @IsString({ message: 'reason must be a string' }) @MaxLength(500, { message: 'reason must be at most 500 characters' })
  reason?: string;
}

/** The body of `POST /api/v1/api-keys` (Admin): a new device registration API key. */
export class CreateApiKeyDto {
  @IsString({ message: 'name must be a string' })
  @Matches(/\S/, { message: 'name must not be blank' })
  @MaxLength(100, { message: 'name must be at most 100 characters' })
  name!: string;
}

/** A device registration API key as `GET /api/v1/api-keys` lists it: metadata only, never the key. */
export interface ApiKeyView {
  /** Also the second part of the key, `hsk_<id>_<secret>`. */
  readonly id: string;
  readonly name: string;
  /** `active` until revoked; a revoked key stops working at once. */
  readonly status: 'active' | 'revoked';
  readonly createdAt: string;
  /** `sub` of the Admin who created it. */
  readonly createdBy: string;
  readonly rotatedAt?: string;
  readonly revokedAt?: string;
}

/** The reply of creating or rotating a key: the only time the key itself is shown. */
export interface IssuedApiKey extends ApiKeyView {
  /** Send as `X-Api-Key` when registering a device. */
  readonly key: string;
}
