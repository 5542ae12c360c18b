import { Inject, Injectable } from '@nestjs/common';
import {
  DeviceSubjects, Queries, type DeviceValidationReply, type DeviceValidationRequest, type DeviceView, type ListDevicesQuery, type Page,
} from '@hotswap/contracts';
import type { ModelDetails } from '@hotswap/domain';
import { SERVICE_RUNTIME, signManifest, signUrl, type ServiceRuntime } from '@hotswap/infrastructure';
import { VALIDATOR_OPTIONS, type ResolvedValidatorOptions } from '../validator.options.js';

/** The tag of the devices that take validation runs. */
export const VALIDATION_TAG = 'validation';

/** Where a run's load test and benchmark go: the validator itself, a device, or nowhere (and why). */
export type ValidationTarget =
  | { readonly kind: 'validator' }
  | { readonly kind: 'device'; readonly deviceId: string }
  | { readonly kind: 'unavailable'; readonly reason: string; readonly ranOn: string };

/**
 * "Load model on validation device": picks an Online device tagged `validation` and asks it, over
 * the device plane, to load and benchmark a model beside what it serves. The request carries a
 * signed manifest and a signed artifact URL, exactly as a swap does.
 */
@Injectable()
export class ValidationDevices {
  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(VALIDATOR_OPTIONS) private readonly options: ResolvedValidatorOptions,
  ) {}

  /** `requested` (a request's `onDevice`) or the configured default, turned into a target. */
  async resolve(requested: boolean | string | undefined): Promise<ValidationTarget> {
    const wanted = requested ?? this.options.onDevice ?? false;
    if (wanted === false) return { kind: 'validator' };
    const ranOn = wanted === true ? `any Online device tagged ${VALIDATION_TAG}` : wanted;
    if (this.options.device === undefined) {
      return { kind: 'unavailable', ranOn, reason: 'the validator is not configured to dispatch to devices (ValidatorOptions.device is unset)' };
    }
    let devices: DeviceView[];
    try {
      const query: ListDevicesQuery = { tag: VALIDATION_TAG, status: 'Online', limit: 100 };
      devices = (await this.runtime.bus.request<ListDevicesQuery, Page<DeviceView>>(Queries.listDevices, query, { timeoutMs: 5_000 })).items;
    } catch (error) {
      return { kind: 'unavailable', ranOn, reason: `the device registry did not list the validation devices: ${messageOf(error)}` };
    }
    if (wanted === true) {
      const first = devices.map((d) => d.id).sort()[0];
      return first !== undefined ? { kind: 'device', deviceId: first } : { kind: 'unavailable', ranOn, reason: `no Online device is tagged ${VALIDATION_TAG}` };
    }
    return devices.some((d) => d.id === wanted)
      ? { kind: 'device', deviceId: wanted }
      : { kind: 'unavailable', ranOn, reason: `device ${wanted} is not an Online device tagged ${VALIDATION_TAG}` };
  }

  /** Asks `deviceId` to load and benchmark `model`; a device that does not answer is an error. */
  async run(deviceId: string, model: ModelDetails, validationId: string): Promise<DeviceValidationReply> {
    const device = this.options.device!;
    const now = this.runtime.clock();
    const release = signManifest({
      modelId: model.modelId, name: model.name, version: model.version, sha256: model.sha256, sizeBytes: model.sizeBytes,
      createdAt: now.toISOString(), expiresAt: new Date(now.getTime() + device.manifestTtlMs).toISOString(),
    }, device.manifestPrivateKeyPem);
    const request: DeviceValidationRequest = {
      type: 'validate', validationId, modelId: model.modelId, release, issuedAt: now.toISOString(),
      artifactUrl: signUrl(device.artifactBaseUrl, model.artifactKey, { expiresAt: new Date(now.getTime() + device.urlTtlMs), secret: device.urlSigningSecret }),
      inferences: this.options.benchmarkInferences, warmup: this.options.warmupInferences,
    };
    return this.runtime.bus.request<DeviceValidationRequest, DeviceValidationReply>(
      DeviceSubjects.validate(deviceId), request, { timeoutMs: device.requestTimeoutMs, envelope: false },
    );
  }
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
