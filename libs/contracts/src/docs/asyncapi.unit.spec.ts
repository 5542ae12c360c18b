import { beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import specs from '@asyncapi/specs';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { Commands, DeviceSubjects, EVENT_SCHEMA_VERSIONS, Queries } from '../index.js';
import type { JsonSchema } from './json-schema.js';
import type { AsyncApiDocument } from './asyncapi.js';
import { ASYNCAPI_FILE, asyncApiText, workspaceAsyncApi } from './write-asyncapi.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
let doc: AsyncApiDocument;

beforeAll(() => {
  doc = workspaceAsyncApi(root);
});

/** Every `$ref` in the document, with the JSON pointer it names. */
function refs(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((item) => refs(item, found));
  else if (typeof node === 'object' && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') found.push(value);
      else refs(value, found);
    }
  }
  return found;
}

function resolve(pointer: string): unknown {
  return pointer.replace(/^#\//, '').split('/').reduce<unknown>(
    (node, part) => (node as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
}

/** A validator of a message's payload, by message name. */
function payloadValidators() {
  const ajv = new Ajv({ strict: false });
  addFormats.default(ajv);
  ajv.addSchema({ $id: 'https://hotswap.invalid/asyncapi', components: doc['components'] });
  return (name: string) => ajv.compile({ $ref: `https://hotswap.invalid/asyncapi#/components/messages/${name}/payload` });
}

const addresses = () => Object.values(doc.channels).map((channel) => channel['address']);
const schemas = () => (doc['components'] as { schemas: Record<string, JsonSchema> }).schemas;

describe('the AsyncAPI document generated from libs/contracts', () => {
  it('is a valid AsyncAPI 3.0.0 document whose references all resolve', () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const validate = ajv.compile(specs.schemasWithoutId['3.0.0'] as object);
    expect(validate(doc) ? [] : validate.errors).toEqual([]);
    expect(refs(doc).filter((ref) => resolve(ref) === undefined)).toEqual([]);
  });

  it('has a channel for every command, query and device-plane subject', () => {
    const expected = [
      ...Object.values(Commands).map((c) => (typeof c === 'function' ? c('{instanceId}') : c)),
      ...Object.values(Queries).map((q) => (typeof q === 'function' ? q('{service}' as never) : q)),
      ...Object.entries(DeviceSubjects).filter(([, s]) => typeof s === 'function').map(([, s]) => (s as (id: string) => string)('{deviceId}')),
    ];
    expect(expected.filter((address) => !addresses().includes(address))).toEqual([]);
  });

  it('lists every event type with its schema version on its aggregate channel', () => {
    const described = Object.entries(doc.channels)
      .filter(([, channel]) => String(channel['address']).startsWith('hotswap.events.'))
      .map(([, channel]) => String(channel['description']))
      .join(' ');
    for (const [type, version] of Object.entries(EVENT_SCHEMA_VERSIONS)) {
      expect(described).toContain(`${type} (v${version})`);
      expect(schemas()[type]).toMatchObject({ 'x-schema-version': version, properties: { type: { const: type }, data: { type: 'object' } } });
    }
    expect(addresses()).toEqual(expect.arrayContaining(['hotswap.events.model.{id}', 'hotswap.events.device.{id}', 'hotswap.events.distribution.{id}']));
  });

  it('describes payloads from the DTO decorators and the TypeScript declarations', () => {
    expect(schemas()['Heartbeat']).toMatchObject({ required: ['deviceId', 'at'], properties: { at: { format: 'date-time' } } });
    expect(schemas()['UploadModelCommand']).toMatchObject({
      required: expect.arrayContaining(['actor', 'name', 'version', 'framework', 'sha256']),
      properties: { framework: { type: 'string', enum: ['onnx', 'tensorflow', 'pytorch', 'zip'] } },
    });
    const uploaded = schemas()['ModelUploaded'] as { properties: { data: JsonSchema } };
    expect(uploaded.properties.data).toMatchObject({ required: expect.arrayContaining(['modelId', 'sha256', 'sizeBytes']) });
  });

  it('accepts a real commit envelope and a real heartbeat, and refuses a heartbeat without its device', () => {
    const payload = payloadValidators();
    const heartbeat = payload('DeviceHeartbeat');
    expect(heartbeat({ deviceId: 'cam-1', at: '2030-06-01T12:00:00.000Z' })).toBe(true);
    expect(heartbeat({ at: '2030-06-01T12:00:00.000Z' })).toBe(false);
    const commit = payload('DeviceEventCommit');
    const valid = commit({
      commitId: 'c-1', stream: 'device-cam-1', recordedAt: '2030-06-01T12:00:00.000Z', firstVersion: 1,
      events: [{
        type: 'DeviceCameOnline', data: { deviceId: 'cam-1', at: '2030-06-01T12:00:00.000Z' },
        metadata: { schemaVersion: 1, actor: 'cam-1', occurredAt: '2030-06-01T12:00:00.000Z' },
      }],
    });
    expect(commit.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('describes replies as they travel: enveloped for commands and queries, bare on the device plane', () => {
    const payload = payloadValidators();
    const uploadReply = payload('UploadModelReply');
    expect(uploadReply({ ok: false, error: { code: 'CONFLICT', message: 'model fraud-1.0.0 already exists' } })).toBe(true);
    expect(uploadReply({ ok: false, error: { code: 'TEAPOT', message: 'no such code' } })).toBe(false);
    expect(uploadReply({ ok: true, result: { id: 'fraud-1.0.0' } })).toBe(false);
    const syncReply = payload('DeviceSyncReply');
    expect(syncReply({ desired: null })).toBe(true);
    expect(syncReply({ error: { code: 'NOT_FOUND', message: 'device cam-9 is not registered' } })).toBe(true);
  });

  it(`is committed as ${ASYNCAPI_FILE}, up to date (regenerate with npm run docs)`, () => {
    const committed = readFileSync(join(root, ASYNCAPI_FILE), 'utf8');
    expect(committed === asyncApiText(doc) ? 'up to date' : `${ASYNCAPI_FILE} is stale: run npm run docs`).toBe('up to date');
  });
});
