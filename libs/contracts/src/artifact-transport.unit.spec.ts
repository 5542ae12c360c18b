import { describe, expect, it } from '@jest/globals';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { ArtifactChunkRequest, DeviceAnnouncement, SwapCommand } from './device-plane.js';
import { CreateDistributionDto } from './rest.js';
import { DeviceSubjects, deviceIdOfSubject } from './subjects.js';

function errorsOf<T extends object>(cls: new () => T, plain: unknown): string[] {
  return validateSync(plainToInstance(cls, plain) as object, { whitelist: true, forbidNonWhitelisted: true })
    .flatMap(function flatten(e): string[] {
      return [...Object.values(e.constraints ?? {}), ...(e.children ?? []).flatMap(flatten)];
    });
}

const manifest = {
  modelId: 'm-1.0.0', name: 'm', version: '1.0.0', sha256: 'a'.repeat(64), sizeBytes: 10, createdAt: '2026-01-01T00:00:00Z', expiresAt: '2026-02-01T00:00:00Z',
};
const command = {
  type: 'swap', commandId: 'c1', modelId: 'm-1.0.0', artifactUrl: 'http://127.0.0.1:8080/artifacts/x',
  release: { manifest, signature: Buffer.from('sig').toString('base64') }, issuedAt: '2026-01-01T00:00:00Z',
};
const capabilities = { cpuCores: 1, gpu: false, memoryMb: 256, storageMb: 512 };

describe('artifact transport in the contracts', () => {
  it('a swap command may name the transport and the artifact key; a bad value is refused naming the field', () => {
    expect(errorsOf(SwapCommand, { ...command, transport: 'nats', artifactKey: 'models/m/1.0.0/a.onnx' })).toEqual([]);
    expect(errorsOf(SwapCommand, { ...command, transport: 'ftp' })).toEqual(['transport must be one of http, nats']);
    expect(errorsOf(SwapCommand, { ...command, artifactKey: 'models/m a.onnx' })).toEqual(['artifactKey must be a relative path of letters, digits, ".", "_", "-" and "/"']);
  });

  it('a device reports its transport among its capabilities', () => {
    const announcement = { deviceId: 'd-1', deviceType: 'edge-sensor', region: 'eu', capabilities: { ...capabilities, transport: 'nats' } };
    expect(errorsOf(DeviceAnnouncement, announcement)).toEqual([]);
    expect(errorsOf(DeviceAnnouncement, { ...announcement, capabilities: { ...capabilities, transport: 'smoke' } })).toEqual(['transport must be one of http, nats']);
  });

  it('a distribution request takes auto, http or nats, and names the field otherwise', () => {
    for (const transport of ['auto', 'http', 'nats']) expect(errorsOf(CreateDistributionDto, { modelId: 'm-1.0.0', strategy: 'Direct', transport })).toEqual([]);
    expect(errorsOf(CreateDistributionDto, { modelId: 'm-1.0.0', strategy: 'Direct', transport: 'carrier-pigeon' })).toEqual(['transport must be one of auto, http, nats']);
  });

  it('a chunk request needs a model, a key, an offset >= 0 and a length >= 1', () => {
    expect(errorsOf(ArtifactChunkRequest, { modelId: 'm-1.0.0', artifactKey: 'models/a.onnx', offset: 0, length: 1 })).toEqual([]);
    expect(errorsOf(ArtifactChunkRequest, { modelId: 'm-1.0.0', artifactKey: 'models/a.onnx', offset: 0, length: 0 })).toEqual(['length must not be less than 1']);
    expect(errorsOf(ArtifactChunkRequest, { modelId: 'm-1.0.0', artifactKey: 'models/a.onnx', offset: 1.5, length: 1 })).toEqual(['offset must be an integer number']);
  });

  it('the chunk subject is the device\'s own, under its permissions', () => {
    expect(DeviceSubjects.artifact('dev-1')).toBe('hotswap.device.dev-1.artifact');
    expect(deviceIdOfSubject(DeviceSubjects.artifact('dev-1'))).toBe('dev-1');
  });
});
