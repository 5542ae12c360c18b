/** The closed vocabularies shared by the API, events, read models and docs. */

export const FRAMEWORKS = ['onnx', 'tensorflow', 'pytorch', 'zip'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

export const MODEL_STATUSES = ['Uploaded', 'Validating', 'Validated', 'Rejected', 'Deprecated'] as const;
export type ModelStatus = (typeof MODEL_STATUSES)[number];

export const STRATEGIES = ['Direct', 'RegionalRollout', 'Canary', 'ABTesting', 'ProgressiveRollout'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export const DISTRIBUTION_STATUSES = [
  'Scheduled', 'PendingApproval', 'Running', 'Paused', 'Succeeded', 'Failed', 'RollingBack', 'RolledBack', 'Cancelled',
] as const;
export type DistributionStatus = (typeof DISTRIBUTION_STATUSES)[number];

export const DEVICE_STATUSES = ['Online', 'Offline', 'Updating', 'Degraded'] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

export const ROLES = ['Admin', 'ModelDeveloper', 'Operator', 'Viewer'] as const;
export type Role = (typeof ROLES)[number];

export const ROLLBACK_POLICIES = ['Automatic', 'Manual'] as const;
export type RollbackPolicy = (typeof ROLLBACK_POLICIES)[number];

export interface DeviceCapabilities {
  readonly cpuCores: number;
  readonly gpu: boolean;
  readonly memoryMb: number;
  readonly storageMb: number;
}

export interface TensorSpec {
  readonly name: string;
  /** onnx element type name, e.g. `float32`. */
  readonly type: string;
  /** Dimensions; a symbolic or unknown dimension is a string or -1. */
  readonly shape: ReadonlyArray<number | string>;
}

export interface SuccessCriteria {
  readonly maxLatencyMs?: number;
  readonly minAccuracy?: number;
  readonly maxErrorRate?: number;
}
