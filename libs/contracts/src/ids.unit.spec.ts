import { describe, expect, it } from '@jest/globals';
import { decodeSubjectToken, encodeSubjectToken, invalidIdReason, modelId } from './ids.js';
import { DeviceSubjects, deviceIdOfSubject, Queries, Services } from './subjects.js';

describe('subject token encoding', () => {
  it.each(['object-detection-1.2.0', 'a%b', 'plain', '1.0.0-rc.1+build.5', '%2E'])('round-trips %s', (id) => {
    const token = encodeSubjectToken(id);
    expect(token).not.toMatch(/[.*>\s]/);
    expect(decodeSubjectToken(token)).toBe(id);
  });

  it('keeps model ids with dots inside one subject token', () => {
    expect(encodeSubjectToken(modelId('object-detection', '1.2.0'))).toBe('object-detection-1%2E2%2E0');
  });

});

describe('id validation', () => {
  it('accepts ordinary names and device ids', () => {
    expect(invalidIdReason('model name', 'resnet50_v2.onnx-int8')).toBeUndefined();
    expect(invalidIdReason('device id', 'dev-001')).toBeUndefined();
  });

  it.each([
    ['model name', 'a*b', 'must not contain'],
    ['model name', 'a b', 'must not contain'],
    ['device id', 'dev>1', 'must not contain'],
    ['device id', 'dev.1', 'must match'],
    ['model name', '-leading', 'must match'],
    ['device id', '', 'is required'],
    ['device id', 42, 'is required'],
  ] as const)('rejects the %s %p', (kind, id, reason) => {
    expect(invalidIdReason(kind, id)).toContain(reason);
  });
});

describe('device subjects', () => {
  it('names each device-plane subject after the device and reads the id back', () => {
    expect(DeviceSubjects.command('dev-001')).toBe('hotswap.device.dev-001.cmd');
    expect(deviceIdOfSubject(DeviceSubjects.status('dev-001'))).toBe('dev-001');
    expect(deviceIdOfSubject('hotswap.cmd.x.y')).toBeUndefined();
  });

  it('names queries after the service that answers them', () => {
    expect(Queries.health(Services.distributor)).toBe('hotswap.qry.distributor.health');
  });
});
