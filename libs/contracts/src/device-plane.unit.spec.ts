import { describe, expect, it } from '@jest/globals';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { canonicalManifest, DeviceStatusReport, ReleaseManifest, SwapCommand } from './device-plane.js';
import { CreateDistributionDto, UploadModelFieldsDto } from './rest.js';

const manifest: ReleaseManifest = {
  modelId: 'm-1.0.0', name: 'm', version: '1.0.0', sha256: 'a'.repeat(64), sizeBytes: 10,
  createdAt: '2026-01-01T00:00:00Z', expiresAt: '2026-02-01T00:00:00Z',
};

function errorsOf<T extends object>(cls: new () => T, plain: unknown): string[] {
  return validateSync(plainToInstance(cls, plain) as object, { whitelist: true, forbidNonWhitelisted: true })
    .flatMap(function flatten(e): string[] {
      return [...Object.values(e.constraints ?? {}), ...(e.children ?? []).flatMap(flatten)];
    });
}

describe('device-plane messages', () => {
  const command = {
    type: 'swap', commandId: 'c1', modelId: 'm-1.0.0', artifactUrl: 'http://127.0.0.1:8080/artifacts/x',
    release: { manifest, signature: Buffer.from('sig').toString('base64') }, issuedAt: '2026-01-01T00:00:00Z',
  };

  it('accepts a well-formed swap command', () => {
    expect(errorsOf(SwapCommand, command)).toEqual([]);
  });

  it('rejects a swap command whose manifest checksum is not hex', () => {
    const bad = { ...command, release: { ...command.release, manifest: { ...manifest, sha256: 'xyz' } } };
    expect(errorsOf(SwapCommand, bad)).toContain('sha256 must be 64 lowercase hex characters');
  });

  it('rejects unknown fields and unknown phases in a status report', () => {
    const errors = errorsOf(DeviceStatusReport, {
      deviceId: 'dev-1', commandId: 'c', modelId: 'm', phase: 'exploded', at: '2026-01-01T00:00:00Z', extra: 1,
    });
    expect(errors.join('\n')).toMatch(/phase must be one of/);
    expect(errors.join('\n')).toMatch(/property extra should not exist/);
  });

  it('signs the manifest fields in a fixed order', () => {
    const reordered = Object.fromEntries(Object.entries(manifest).reverse()) as unknown as ReleaseManifest;
    expect(canonicalManifest(reordered)).toBe(canonicalManifest(manifest));
    expect(canonicalManifest({ ...manifest, sizeBytes: 11 })).not.toBe(canonicalManifest(manifest));
  });
});

describe('REST DTOs', () => {
  it('names the bad version and framework of an upload', () => {
    const errors = errorsOf(UploadModelFieldsDto, { name: 'm', version: '1.0', framework: 'keras' });
    expect(errors).toContain('version must be a semantic version MAJOR.MINOR.PATCH');
    expect(errors).toContain('framework must be one of onnx, tensorflow, pytorch, zip');
  });

  it('rejects target device ids with NATS wildcards', () => {
    const errors = errorsOf(CreateDistributionDto, { modelId: 'm-1.0.0', strategy: 'Direct', targetDevices: ['dev-1', 'dev.*'] });
    expect(errors.join()).toContain('each of targetDevices must be a device id');
  });
});
