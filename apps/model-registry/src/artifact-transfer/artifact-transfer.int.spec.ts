import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { connect, credsAuthenticator, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { ARTIFACT_CHUNK_HEADERS, Commands, DESIRED_STATE_BUCKET, DeviceSubjects, Queries, type ModelArtifactView, type ModelView, type UploadModelCommand } from '@hotswap/contracts';
import {
  createNatsTrust, JetStreamEventStore, LocalFileArtifactStore, MessageBus, mintDeviceCredentials, mintServiceCredentials, natsServerTrustConfig,
  PgliteDatabase, type ServiceRuntime,
} from '@hotswap/infrastructure';
import { makeAddModel, startNatsServer, type NatsServer } from '@hotswap/infrastructure/testing';
import { ModelRegistryModule } from '../model-registry.module.js';

/**
 * The `.artifact` responder on an operator-mode nats-server, as in production: devices connect
 * with their own credentials, which allow publishing on their own subjects only, and each may read
 * only the artifact of the model the distributor last sent it (its desired model).
 */
const MAX_CHUNK = 64;
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const bytes = makeAddModel({ addend: 1 });
let dir: string;
let server: NatsServer;
let service: NatsConnection;
let eventStore: JetStreamEventStore;
let db: PgliteDatabase;
let runtime: ServiceRuntime;
let app: INestApplicationContext;
let artifact: ModelArtifactView;
let other: ModelArtifactView;
const devices = new Map<string, NatsConnection>();

async function upload(name: string, content: Buffer): Promise<ModelArtifactView> {
  const key = `staging/${name}`;
  const stored = await runtime.artifacts.put(key, Readable.from([content]));
  const command: UploadModelCommand = { actor: 'alice', name, version: '1.0.0', framework: 'onnx', metadata: {}, stagingKey: key, sha256: stored.sha256, sizeBytes: stored.sizeBytes };
  const view = await runtime.bus.request<UploadModelCommand, ModelView>(Commands.uploadModel, command, { timeoutMs: 10_000 });
  return runtime.bus.request<{ id: string }, ModelArtifactView>(Queries.getModelArtifact, { id: view.id }, { timeoutMs: 5_000 });
}

beforeAll(async () => {
  const trust = await createNatsTrust();
  dir = await mkdtemp(join(tmpdir(), 'hotswap-artifact-transfer-'));
  await writeFile(join(dir, 'server.conf'), natsServerTrustConfig(trust));
  server = await startNatsServer({ jetstream: true, config: join(dir, 'server.conf') });
  service = await connect({ servers: server.url, authenticator: credsAuthenticator(new TextEncoder().encode((await mintServiceCredentials(trust, 'model-registry')).creds)) });
  eventStore = await JetStreamEventStore.fromConnection(service);
  db = await PgliteDatabase.open();
  runtime = {
    nats: service, bus: new MessageBus(service, { logger: quiet }), eventStore, db,
    artifacts: new LocalFileArtifactStore({ rootDir: join(dir, 'artifacts') }), clock: () => new Date(), logger: quiet,
  };
  app = await NestFactory.createApplicationContext(ModelRegistryModule.register(runtime, { artifactTransfer: { maxChunkBytes: MAX_CHUNK } }), { logger: false });
  await app.init();
  artifact = await upload('adder', bytes);
  other = await upload('other', makeAddModel({ addend: 2 }));
  // What the distributor records before it sends each device its swap command.
  const desired = await new Kvm(service).create(DESIRED_STATE_BUCKET, { history: 5 });
  await desired.put('dev-a', JSON.stringify({ modelId: artifact.modelId, commandId: 'c-a' }));
  await desired.put('dev-b', JSON.stringify({ modelId: other.modelId, commandId: 'c-b' }));
  for (const id of ['dev-a', 'dev-b']) {
    const creds = await mintDeviceCredentials(trust, id);
    devices.set(id, await connect({
      servers: server.url, authenticator: credsAuthenticator(new TextEncoder().encode(creds.creds)), inboxPrefix: creds.inboxPrefix, reconnect: false,
    }));
  }
}, 60_000);

afterAll(async () => {
  await Promise.all([...devices.values()].map((nc) => nc.close()));
  await app?.close();
  await eventStore?.close();
  await service?.close();
  await db?.close();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const ask = (payload: unknown, deviceId = 'dev-a', subjectOf = deviceId): Promise<Msg> =>
  (devices.get(deviceId) as NatsConnection).request(DeviceSubjects.artifact(subjectOf), typeof payload === 'string' ? payload : JSON.stringify(payload), { timeout: 5_000 });
const refusal = (msg: Msg) => ({ code: msg.headers?.get(ARTIFACT_CHUNK_HEADERS.errorCode), reason: msg.headers?.get(ARTIFACT_CHUNK_HEADERS.error), bodyBytes: msg.data.length });

describe('artifact transfer over NATS - the responder', () => {
  it('serves a model version\'s artifact in chunks on the device\'s own subject, the last one up to the end', async () => {
    const parts: Buffer[] = [];
    for (let offset = 0; offset < artifact.sizeBytes; offset += MAX_CHUNK) {
      const reply = await ask({ modelId: artifact.modelId, artifactKey: artifact.artifactKey, offset, length: MAX_CHUNK });
      expect(reply.headers?.get(ARTIFACT_CHUNK_HEADERS.errorCode) ?? '').toBe('');
      expect(reply.headers?.get(ARTIFACT_CHUNK_HEADERS.size)).toBe(String(bytes.length));
      expect(reply.data.length).toBe(Math.min(MAX_CHUNK, bytes.length - offset));
      parts.push(Buffer.from(reply.data));
    }
    expect(Buffer.concat(parts)).toEqual(bytes);
  });

  it.each([
    ['an unknown model', () => ({ modelId: 'ghost-1.0.0', artifactKey: artifact.artifactKey, offset: 0, length: 8 }), 'NOT_FOUND', 'model ghost-1.0.0 not found'],
    ['the key of another model', () => ({ modelId: artifact.modelId, artifactKey: other.artifactKey, offset: 0, length: 8 }), 'FORBIDDEN', 'is not the artifact of model adder-1.0.0'],
    ['a key that is not a stored artifact', () => ({ modelId: artifact.modelId, artifactKey: 'keys/registration-api-key', offset: 0, length: 8 }), 'FORBIDDEN', 'keys/registration-api-key is not the artifact of model adder-1.0.0'],
    ['a key climbing out of the store', () => ({ modelId: artifact.modelId, artifactKey: 'models/../../etc/passwd', offset: 0, length: 8 }), 'BAD_REQUEST', 'has a ".." path segment'],
    ['an absolute path', () => ({ modelId: artifact.modelId, artifactKey: '/etc/passwd', offset: 0, length: 8 }), 'BAD_REQUEST', 'it must be a relative path'],
    ['an offset beyond the end', () => ({ modelId: artifact.modelId, artifactKey: artifact.artifactKey, offset: bytes.length, length: 8 }), 'BAD_REQUEST', `offset ${bytes.length} is beyond the artifact's ${bytes.length} bytes`],
    ['a chunk larger than the limit', () => ({ modelId: artifact.modelId, artifactKey: artifact.artifactKey, offset: 0, length: MAX_CHUNK + 1 }), 'BAD_REQUEST', `length ${MAX_CHUNK + 1} exceeds the largest chunk, ${MAX_CHUNK} bytes`],
    ['a negative offset', () => ({ modelId: artifact.modelId, artifactKey: artifact.artifactKey, offset: -1, length: 8 }), 'BAD_REQUEST', 'offset must not be less than 0'],
    ['an unknown field', () => ({ modelId: artifact.modelId, artifactKey: artifact.artifactKey, offset: 0, length: 8, path: '/' }), 'BAD_REQUEST', 'property path should not exist'],
    ['malformed JSON', () => '{"modelId":', 'BAD_REQUEST', 'malformed JSON'],
  ])('refuses %s with an empty error reply naming the reason', async (_label, payload, code, reason) => {
    const reply = await ask(payload());
    expect(refusal(reply)).toMatchObject({ code, bodyBytes: 0 });
    expect(refusal(reply).reason).toContain(reason);
  });

  it('refuses a device the artifact of a model it was not sent (not its desired model) with FORBIDDEN', async () => {
    const reply = await ask({ modelId: other.modelId, artifactKey: other.artifactKey, offset: 0, length: 8 });
    expect(refusal(reply)).toEqual({ code: 'FORBIDDEN', reason: 'device dev-a was not sent model other-1.0.0 (its desired model is adder-1.0.0)', bodyBytes: 0 });
    const own = await ask({ modelId: other.modelId, artifactKey: other.artifactKey, offset: 0, length: 8 }, 'dev-b');
    expect(own.data.length).toBe(8);
  });

  it('serves the model of a new rollout at once, though the previous desired model was looked up a moment ago', async () => {
    const desired = await new Kvm(service).open(DESIRED_STATE_BUCKET);
    expect((await ask({ modelId: other.modelId, artifactKey: other.artifactKey, offset: 0, length: 8 }, 'dev-b')).data.length).toBe(8);
    await desired.put('dev-b', JSON.stringify({ modelId: artifact.modelId, commandId: 'c-b2' }));
    const reply = await ask({ modelId: artifact.modelId, artifactKey: artifact.artifactKey, offset: 0, length: 8 }, 'dev-b');
    expect(refusal(reply).code ?? '').toBe('');
    expect(Buffer.from(reply.data)).toEqual(bytes.subarray(0, 8));
    await desired.put('dev-b', JSON.stringify({ modelId: other.modelId, commandId: 'c-b3' }));
  });

  it('a device cannot ask on another device\'s subject: the server refuses the publish', async () => {
    const request = ask({ modelId: artifact.modelId, artifactKey: artifact.artifactKey, offset: 0, length: 8 }, 'dev-a', 'dev-b');
    await expect(request).rejects.toThrow(/permission/i);
  });
});
