import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { INestApplication } from '@nestjs/common';
import {
  Commands, Queries, Services, type ByIdQuery, type CreateDistributionCommand, type ModelView, type Role,
  type UploadModelCommand,
} from '@hotswap/contracts';
import {
  LocalFileArtifactStore, MessageBus, signUrl, type BusSubscription, type MessageContext, type ValidationResult,
} from '@hotswap/infrastructure';
import { startNatsServer, type NatsServer } from '@hotswap/infrastructure/testing';
import { createGatewayApp, issueDevToken } from './index.js';

/**
 * The gateway against a real nats-server and a real local artifact store. The test plays the
 * services: it answers the gateway's commands and queries on NATS itself.
 */

// Generous for a loaded 2-core machine; the tests themselves wait for events, not for time.
jest.setTimeout(20_000);

const jwtSecret = 'gateway-test-jwt-secret';
const urlSigningSecret = 'gateway-test-url-secret';
const maxUploadBytes = 2 * 1024 * 1024;
const requestTimeoutMs = 1_500;
const uploadTimeoutMs = 1_000;
const NOW = new Date('2030-06-01T12:00:00.000Z');
const quiet = { warn: () => undefined, error: () => undefined };

let nats: NatsServer;
let gatewayConnection: NatsConnection;
let servicesConnection: NatsConnection;
/** The fake services' side of NATS. */
let services: MessageBus;
let storeDir: string;
let artifacts: LocalFileArtifactStore;
let app: INestApplication;
let baseUrl: string;
const handlers: BusSubscription[] = [];

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: false });
  gatewayConnection = await connect({ servers: nats.url });
  servicesConnection = await connect({ servers: nats.url });
  services = new MessageBus(servicesConnection, { logger: quiet });
  storeDir = await mkdtemp(join(tmpdir(), 'hotswap-gateway-'));
  artifacts = new LocalFileArtifactStore({ rootDir: storeDir });
  app = await createGatewayApp(
    {
      bus: new MessageBus(gatewayConnection, { logger: quiet }),
      artifacts,
      jwtSecret,
      urlSigningSecret,
      maxUploadBytes,
      clock: () => NOW,
      serviceNames: [Services.modelRegistry, Services.distributor],
      requestTimeoutMs,
      uploadTimeoutMs,
    },
    { port: 0, host: '127.0.0.1', logger: false },
  );
  const { port } = app.getHttpServer().address() as { port: number };
  baseUrl = `http://127.0.0.1:${port}`;
}, 30_000);

afterAll(async () => {
  await stopHandlers();
  await app?.close();
  await gatewayConnection?.close();
  await servicesConnection?.close();
  await nats?.stop();
  if (storeDir !== undefined) await rm(storeDir, { recursive: true, force: true });
});

beforeEach(async () => {
  await stopHandlers();
});

async function stopHandlers(): Promise<void> {
  await Promise.all(handlers.splice(0).map((handler) => handler.close()));
}

/** Answers `subject` like a service would, recording what it was asked; stopped before the next test. */
async function serve<T, R>(subject: string, handler: (payload: T, ctx: MessageContext) => R | Promise<R>): Promise<T[]> {
  const received: T[] = [];
  handlers.push(
    await services.handle(subject, {
      queue: 'gateway-test',
      validate: (payload: unknown): ValidationResult<T> => ({ ok: true, value: payload as T }),
      handler: (payload, ctx) => {
        received.push(payload);
        return handler(payload, ctx);
      },
    }),
  );
  return received;
}

/** A service rejection as the real services send it: an error with a `code`. */
function rejection(code: string, message: string, details?: unknown): Error {
  return Object.assign(new Error(message), { code, details });
}

function token(roles: Role[], options: { subject?: string; secret?: string; now?: Date; ttlSeconds?: number } = {}) {
  return issueDevToken({
    secret: options.secret ?? jwtSecret,
    subject: options.subject ?? 'alice',
    roles,
    ttlSeconds: options.ttlSeconds ?? 600,
    now: options.now ?? NOW,
  });
}

interface Reply {
  readonly status: number;
  readonly headers: Headers;
  // JSON of any shape; the assertions say what it must be.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
}

async function call(path: string, init: RequestInit & { roles?: Role[] } = {}): Promise<Reply> {
  const { roles, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (roles !== undefined) headers.set('authorization', `Bearer ${await token(roles)}`);
  if (typeof rest.body === 'string' && !headers.has('content-type')) headers.set('content-type', 'application/json');
  const response = await fetch(`${baseUrl}${path}`, { ...rest, headers });
  const text = await response.text();
  const isJson = response.headers.get('content-type')?.includes('json') ?? false;
  return { status: response.status, headers: response.headers, body: isJson && text !== '' ? JSON.parse(text) : text };
}

/** Polls `condition` until it holds; fails after `timeoutMs`. */
async function eventually(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition still false after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Every file the store holds under `staging/` (data, sidecars and temp files). */
async function stagedFiles(): Promise<string[]> {
  const found: string[] = [];
  for (const dir of ['data/staging', 'meta/staging', 'tmp']) {
    const entries = await readdir(join(storeDir, dir), { recursive: true }).catch(() => [] as string[]);
    found.push(...entries.map((entry) => `${dir}/${entry}`));
  }
  return found;
}

interface UploadForm {
  readonly name?: string;
  readonly version?: string;
  readonly framework?: string;
  readonly checksum?: string;
  readonly metadata?: string;
  readonly artifact?: Uint8Array;
  /** Send the file part before the text fields. */
  readonly fileFirst?: boolean;
}

function uploadForm(form: UploadForm): FormData {
  const data = new FormData();
  const file = () => {
    if (form.artifact !== undefined) data.append('artifact', new Blob([form.artifact]), 'model.onnx');
  };
  if (form.fileFirst) file();
  for (const name of ['name', 'version', 'framework', 'checksum', 'metadata'] as const) {
    const value = form[name];
    if (value !== undefined) data.append(name, value);
  }
  if (!form.fileFirst) file();
  return data;
}

function upload(form: UploadForm, roles: Role[] = ['ModelDeveloper']): Promise<Reply> {
  return call('/api/v1/models', { method: 'POST', body: uploadForm(form), roles });
}

const validForm = (artifact: Uint8Array): UploadForm => ({
  name: 'object-detection',
  version: '1.2.0',
  framework: 'onnx',
  checksum: sha256(artifact),
  metadata: JSON.stringify({ description: 'detects objects', requirements: { memoryMb: 256 } }),
  artifact,
});

function modelViewOf(command: UploadModelCommand): ModelView {
  return {
    id: `${command.name}-${command.version}`,
    name: command.name,
    version: command.version,
    framework: command.framework,
    status: 'Uploaded',
    checksum: command.sha256,
    sizeBytes: command.sizeBytes,
    metadata: command.metadata,
    uploadedAt: NOW.toISOString(),
    uploadedBy: command.actor,
  };
}

describe('authentication and roles', () => {
  it('refuses a request without a token with 401 saying the header is missing', async () => {
    const reply = await call('/api/v1/models');
    expect(reply.status).toBe(401);
    expect(reply.body).toEqual({
      statusCode: 401,
      error: 'Unauthorized',
      message: 'missing Authorization header: send "Authorization: Bearer <token>"',
    });
  });

  it('refuses an Authorization header that is not a bearer token', async () => {
    const reply = await call('/api/v1/models', { headers: { authorization: 'Basic YWxpY2U6c2VjcmV0' } });
    expect(reply.status).toBe(401);
    expect(reply.body.message).toBe('the Authorization header must be "Bearer <token>"');
  });

  it('refuses a token signed with another secret', async () => {
    const forged = await token(['Admin'], { secret: 'not-the-gateway-secret' });
    const reply = await call('/api/v1/models', { headers: { authorization: `Bearer ${forged}` } });
    expect(reply.status).toBe(401);
    expect(reply.body.message).toBe('the token signature is invalid');
  });

  it('refuses an expired token, saying when it expired', async () => {
    const expired = await token(['Admin'], { now: new Date(NOW.getTime() - 3_600_000), ttlSeconds: 60 });
    const reply = await call('/api/v1/models', { headers: { authorization: `Bearer ${expired}` } });
    expect(reply.status).toBe(401);
    expect(reply.body.message).toBe('the token expired at 2030-06-01T11:01:00.000Z');
  });

  it('refuses a token that is not a JWT', async () => {
    const reply = await call('/api/v1/models', { headers: { authorization: 'Bearer not.a.jwt' } });
    expect(reply.status).toBe(401);
    expect(reply.body.message).toMatch(/^the token is malformed/);
  });

  it('refuses a Viewer uploading a model with 403 naming the roles needed, storing nothing', async () => {
    const artifact = randomBytes(1024);
    const reply = await upload(validForm(artifact), ['Viewer']);
    expect(reply.status).toBe(403);
    expect(reply.body).toEqual({
      statusCode: 403,
      error: 'Forbidden',
      message: 'this operation needs one of the roles Admin, ModelDeveloper; the token has role(s) Viewer',
    });
    expect(await stagedFiles()).toEqual([]);
  });

  it('lets any role read', async () => {
    await serve(Queries.listModels, () => ({ items: [], total: 0 }));
    for (const role of ['Admin', 'ModelDeveloper', 'Operator', 'Viewer'] as const) {
      expect((await call('/api/v1/models', { roles: [role] })).status).toBe(200);
    }
  });

  it('issueDevToken refuses roles it does not know', async () => {
    await expect(token(['Root' as Role])).rejects.toThrow('unknown role(s) Root');
  });
});

describe('POST /api/v1/models', () => {
  it('streams the artifact to staging and forwards the upload with its SHA-256 and size', async () => {
    const artifact = randomBytes(1024 * 1024 + 17);
    let stagedWhileAsked: { sizeBytes: number; sha256: string } | undefined;
    const commands = await serve<UploadModelCommand, ModelView>(Commands.uploadModel, async (command) => {
      stagedWhileAsked = await artifacts.stat(command.stagingKey);
      return modelViewOf(command);
    });

    const reply = await upload(validForm(artifact), ['ModelDeveloper']);

    expect(reply.status).toBe(202);
    expect(reply.body).toEqual({
      id: 'object-detection-1.2.0',
      name: 'object-detection',
      version: '1.2.0',
      framework: 'onnx',
      status: 'Uploaded',
      checksum: sha256(artifact),
      sizeBytes: artifact.length,
    });
    expect(commands).toHaveLength(1);
    const [command] = commands;
    expect(command).toEqual({
      actor: 'alice',
      name: 'object-detection',
      version: '1.2.0',
      framework: 'onnx',
      stagingKey: expect.stringMatching(/^staging\/[0-9a-f-]{36}$/),
      sha256: sha256(artifact),
      sizeBytes: artifact.length,
      metadata: { description: 'detects objects', requirements: { memoryMb: 256 } },
    });
    expect(stagedWhileAsked).toEqual({ sizeBytes: artifact.length, sha256: sha256(artifact) });
    // Once the registry has accepted it, the staged file is the registry's to move.
    expect(await artifacts.exists(command.stagingKey)).toBe(true);
    await artifacts.delete(command.stagingKey);
  });

  it('accepts the file before the fields and a checksum that arrives after the file', async () => {
    const artifact = randomBytes(4096);
    const commands = await serve<UploadModelCommand, ModelView>(Commands.uploadModel, modelViewOf);

    const reply = await upload({ ...validForm(artifact), metadata: undefined, fileFirst: true });

    expect(reply.status).toBe(202);
    expect(commands[0]).toMatchObject({ sha256: sha256(artifact), sizeBytes: 4096, metadata: {} });
    await artifacts.delete(commands[0].stagingKey);
  });

  it('refuses bad fields with 400 naming each of them, storing nothing and asking nobody', async () => {
    const commands = await serve<UploadModelCommand, ModelView>(Commands.uploadModel, modelViewOf);

    const reply = await upload({ name: '*bad name', version: '1.2', framework: 'caffe', artifact: randomBytes(2048) });

    expect(reply.status).toBe(400);
    expect(reply.body.error).toBe('Bad Request');
    expect(reply.body.message).toContain('name: name must be letters, digits');
    expect(reply.body.message).toContain('version: version must be a semantic version MAJOR.MINOR.PATCH');
    expect(reply.body.message).toContain('framework: framework must be one of onnx, tensorflow, pytorch, zip');
    expect(reply.body.details).toEqual({ properties: ['name', 'version', 'framework'] });
    expect(commands).toEqual([]);
    expect(await stagedFiles()).toEqual([]);
  });

  it('refuses missing fields sent after the file with 400 naming them and deletes the staged file', async () => {
    const reply = await upload({ name: 'object-detection', artifact: randomBytes(2048), fileFirst: true });

    expect(reply.status).toBe(400);
    expect(reply.body.details).toEqual({ properties: ['version', 'framework'] });
    expect(await stagedFiles()).toEqual([]);
  });

  it('refuses unknown fields and fields sent twice', async () => {
    const unknown = uploadForm(validForm(randomBytes(16)));
    unknown.append('owner', 'mallory');
    const first = await call('/api/v1/models', { method: 'POST', body: unknown, roles: ['Admin'] });
    expect(first.status).toBe(400);
    expect(first.body.message).toContain('owner: property owner should not exist');

    const twice = new FormData();
    twice.append('name', 'a');
    twice.append('name', 'b');
    twice.append('constructor', 'x');
    const second = await call('/api/v1/models', { method: 'POST', body: twice, roles: ['Admin'] });
    expect(second.status).toBe(400);
    expect(second.body.message).toBe('field "name" was sent more than once');
    expect(await stagedFiles()).toEqual([]);
  });

  it('refuses metadata that is not JSON with 400 naming metadata', async () => {
    const reply = await upload({ ...validForm(randomBytes(64)), metadata: '{"description": ' });
    expect(reply.status).toBe(400);
    expect(reply.body.message).toMatch(/^invalid upload fields: metadata: metadata is not valid JSON/);
    expect(reply.body.details).toEqual({ properties: ['metadata'] });
    expect(await stagedFiles()).toEqual([]);
  });

  it('refuses metadata that is JSON but not an object', async () => {
    const reply = await upload({ ...validForm(randomBytes(64)), metadata: '[1, 2]' });
    expect(reply.status).toBe(400);
    expect(reply.body.message).toBe('invalid upload fields: metadata: metadata must be a JSON object');
  });

  it('refuses a checksum mismatch with 400 giving expected and actual, leaving nothing behind', async () => {
    const artifact = randomBytes(10_000);
    const claimed = sha256(Buffer.from('something else'));
    const reply = await upload({ ...validForm(artifact), checksum: claimed });

    expect(reply.status).toBe(400);
    expect(reply.body.message).toBe(
      `checksum mismatch: expected SHA-256 ${claimed}, the uploaded artifact has ${sha256(artifact)}`,
    );
    expect(reply.body.details).toEqual({ expected: claimed, actual: sha256(artifact) });
    expect(await stagedFiles()).toEqual([]);
  });

  it('refuses a checksum mismatch found after the file, deleting the staged file', async () => {
    const artifact = randomBytes(10_000);
    const claimed = 'A'.repeat(64);
    const reply = await upload({ ...validForm(artifact), checksum: claimed, fileFirst: true });

    expect(reply.status).toBe(400);
    expect(reply.body.details).toEqual({ expected: 'a'.repeat(64), actual: sha256(artifact) });
    expect(await stagedFiles()).toEqual([]);
  });

  it('refuses an artifact over the limit with 413, leaving nothing behind', async () => {
    const artifact = randomBytes(maxUploadBytes + 1);
    const reply = await upload({ ...validForm(artifact), checksum: undefined });

    expect(reply.status).toBe(413);
    expect(reply.body).toEqual({
      statusCode: 413,
      error: 'Payload Too Large',
      message: `the artifact is larger than the limit of ${maxUploadBytes} bytes`,
      details: { maxSizeBytes: maxUploadBytes },
    });
    expect(await stagedFiles()).toEqual([]);
  });

  it('passes on the registry refusing the artifact as 400 with its message and deletes the staged file', async () => {
    const commands = await serve<UploadModelCommand, ModelView>(Commands.uploadModel, () => {
      throw rejection('BAD_REQUEST', 'the artifact is not a valid ONNX model: protobuf parse failed');
    });

    const reply = await upload(validForm(randomBytes(512)));

    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'the artifact is not a valid ONNX model: protobuf parse failed',
    });
    expect(commands).toHaveLength(1);
    expect(await artifacts.exists(commands[0].stagingKey)).toBe(false);
    expect(await stagedFiles()).toEqual([]);
  });

  it('passes on an existing model id as 409 with its details', async () => {
    await serve<UploadModelCommand, ModelView>(Commands.uploadModel, () => {
      throw rejection('CONFLICT', 'model object-detection-1.2.0 already exists', { id: 'object-detection-1.2.0' });
    });

    const reply = await upload(validForm(randomBytes(512)));

    expect(reply.status).toBe(409);
    expect(reply.body).toEqual({
      statusCode: 409,
      error: 'Conflict',
      message: 'model object-detection-1.2.0 already exists',
      details: { id: 'object-detection-1.2.0' },
    });
    expect(await stagedFiles()).toEqual([]);
  });

  it('answers 503 naming the subject when the registry is not running, deleting the staged file', async () => {
    const reply = await upload(validForm(randomBytes(512)));

    expect(reply.status).toBe(503);
    expect(reply.body.message).toBe(`model-registry is unavailable: no responders for ${Commands.uploadModel}`);
    expect(await stagedFiles()).toEqual([]);
  });

  it('removes the partly staged artifact when the client hangs up mid-upload', async () => {
    const commands = await serve<UploadModelCommand, ModelView>(Commands.uploadModel, modelViewOf);
    const boundary = 'hangup';
    const head =
      `--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nm\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="artifact"; filename="m.onnx"\r\n\r\n`;
    const request = httpRequest(`${baseUrl}/api/v1/models`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await token(['Admin'])}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': String(head.length + 1_000_000),
      },
    });
    request.on('error', () => undefined);
    request.write(head);
    request.write(randomBytes(300_000));
    // Hang up once the gateway has started staging the file.
    await eventually(async () => (await stagedFiles()).length > 0);
    request.destroy();

    await eventually(async () => (await stagedFiles()).length === 0);
    expect(commands).toEqual([]);
  });

  it('answers 503 when the registry does not take the upload in time, deleting the staged file', async () => {
    let release = () => undefined as void;
    await serve<UploadModelCommand, ModelView>(Commands.uploadModel, (command) =>
      new Promise<ModelView>((resolve) => (release = () => resolve(modelViewOf(command)))),
    );

    const reply = await upload(validForm(randomBytes(512)));
    release();

    expect(reply.status).toBe(503);
    expect(reply.body.message).toBe(
      `model-registry did not answer: request to ${Commands.uploadModel} timed out after ${uploadTimeoutMs} ms`,
    );
    expect(await stagedFiles()).toEqual([]);
  });

  it('refuses a form without the artifact part', async () => {
    const reply = await upload({ ...validForm(randomBytes(1)), artifact: undefined });
    expect(reply.status).toBe(400);
    expect(reply.body.message).toBe('the model file is missing: send it as the file part "artifact"');
  });

  it('refuses a file under another part name and a second file', async () => {
    const wrongName = new FormData();
    wrongName.append('name', 'm');
    wrongName.append('model', new Blob([randomBytes(8)]), 'model.onnx');
    const first = await call('/api/v1/models', { method: 'POST', body: wrongName, roles: ['Admin'] });
    expect(first.status).toBe(400);
    expect(first.body.message).toBe('unexpected file part "model": the model file goes in the part named "artifact"');

    const twoFiles = uploadForm(validForm(randomBytes(8)));
    twoFiles.append('artifact', new Blob([randomBytes(8)]), 'again.onnx');
    const second = await call('/api/v1/models', { method: 'POST', body: twoFiles, roles: ['Admin'] });
    expect(second.status).toBe(400);
    expect(second.body.message).toBe('only one file part ("artifact") is allowed');
    expect(await stagedFiles()).toEqual([]);
  });

  it('refuses a body that is not multipart with 415', async () => {
    const reply = await call('/api/v1/models', { method: 'POST', body: '{"name":"m"}', roles: ['Admin'] });
    expect(reply.status).toBe(415);
    expect(reply.body.message).toBe('a model upload must be multipart/form-data with a boundary, got application/json');
  });

  it('refuses a truncated multipart body with 400', async () => {
    const body = '--b\r\nContent-Disposition: form-data; name="artifact"; filename="m.onnx"\r\n\r\nabc';
    const reply = await call('/api/v1/models', {
      method: 'POST',
      body,
      roles: ['Admin'],
      headers: { 'content-type': 'multipart/form-data; boundary=b' },
    });
    expect(reply.status).toBe(400);
    expect(reply.body.message).toBe('malformed multipart request: Unexpected end of form');
    expect(await stagedFiles()).toEqual([]);
  });
});

describe('distributions', () => {
  it('forwards a new distribution with the caller as actor and answers 202 { id, status }', async () => {
    const commands = await serve<CreateDistributionCommand, unknown>(Commands.createDistribution, () => ({
      id: 'dist-1',
      status: 'Running',
      extra: 'not part of the reply',
    }));

    const reply = await call('/api/v1/distributions', {
      method: 'POST',
      roles: ['Operator'],
      body: JSON.stringify({
        modelId: 'object-detection-1.2.0',
        strategy: 'Canary',
        targetDevices: ['edge-1', 'edge-2'],
        targetFilter: { region: 'eu-west' },
        successCriteria: { maxErrorRate: 0.05 },
        rollbackPolicy: 'Automatic',
      }),
    });

    expect(reply.status).toBe(202);
    expect(reply.body).toEqual({ id: 'dist-1', status: 'Running' });
    expect(commands).toEqual([
      {
        actor: 'alice',
        modelId: 'object-detection-1.2.0',
        strategy: 'Canary',
        targetDevices: ['edge-1', 'edge-2'],
        targetFilter: { region: 'eu-west' },
        successCriteria: { maxErrorRate: 0.05 },
        rollbackPolicy: 'Automatic',
      },
    ]);
  });

  it('accepts a distribution listing thousands of target devices', async () => {
    const commands = await serve<CreateDistributionCommand, unknown>(Commands.createDistribution, () => ({ id: 'd', status: 'Running' }));
    const targetDevices = Array.from({ length: 8000 }, (_, i) => `edge-device-${String(i).padStart(6, '0')}`);
    const reply = await call('/api/v1/distributions', {
      method: 'POST',
      roles: ['Admin'],
      body: JSON.stringify({ modelId: 'm-1.0.0', strategy: 'Direct', targetDevices }),
    });
    expect(reply.status).toBe(202);
    expect(commands[0].targetDevices).toHaveLength(8000);
  });

  it('refuses an unknown strategy with 400 naming strategy', async () => {
    const reply = await call('/api/v1/distributions', {
      method: 'POST',
      roles: ['Admin'],
      body: JSON.stringify({ modelId: 'm-1.0.0', strategy: 'BigBang' }),
    });
    expect(reply.status).toBe(400);
    expect(reply.body.message).toBe(
      'invalid request: strategy: strategy must be one of Direct, RegionalRollout, Canary, ABTesting, ProgressiveRollout [isIn]',
    );
    expect(reply.body.details).toEqual({ properties: ['strategy'] });
  });

  it('refuses a wildcard device id and unknown properties', async () => {
    const reply = await call('/api/v1/distributions', {
      method: 'POST',
      roles: ['Admin'],
      body: JSON.stringify({ modelId: 'm-1.0.0', strategy: 'Direct', targetDevices: ['edge-1', 'edge.*'], force: true }),
    });
    expect(reply.status).toBe(400);
    expect(reply.body.details.properties.sort()).toEqual(['force', 'targetDevices']);
    expect(reply.body.message).toContain('each of targetDevices must be a device id');
    expect(reply.body.message).toContain('force: property force should not exist');
  });

  it('refuses a malformed JSON body with 400', async () => {
    const reply = await call('/api/v1/distributions', { method: 'POST', roles: ['Admin'], body: '{"modelId": ' });
    expect(reply.status).toBe(400);
    expect(reply.body.statusCode).toBe(400);
    expect(reply.body.error).toBe('Bad Request');
    expect(reply.body.message).toMatch(/^malformed JSON body/);
  });

  it('refuses a ModelDeveloper creating a distribution', async () => {
    const reply = await call('/api/v1/distributions', {
      method: 'POST',
      roles: ['ModelDeveloper'],
      body: JSON.stringify({ modelId: 'm-1.0.0', strategy: 'Direct' }),
    });
    expect(reply.status).toBe(403);
  });

  it('returns the status of a distribution and 404 with the service message for an unknown one', async () => {
    const asked = await serve<ByIdQuery, unknown>(Queries.getDistributionStatus, ({ id }) => {
      if (id !== 'dist-1') throw rejection('NOT_FOUND', `distribution ${id} does not exist`);
      return { id, modelId: 'm-1.0.0', strategy: 'Direct', status: 'Running' };
    });

    const found = await call('/api/v1/distributions/dist-1/status', { roles: ['Viewer'] });
    const missing = await call('/api/v1/distributions/dist-9/status', { roles: ['Viewer'] });

    expect(found.status).toBe(200);
    expect(found.body).toEqual({ id: 'dist-1', modelId: 'm-1.0.0', strategy: 'Direct', status: 'Running' });
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'distribution dist-9 does not exist' });
    expect(asked).toEqual([{ id: 'dist-1' }, { id: 'dist-9' }]);
  });
});

describe('models and devices queries', () => {
  it('forwards model list filters, with paging as numbers', async () => {
    const asked = await serve(Queries.listModels, () => ({ items: [], total: 0 }));
    const reply = await call('/api/v1/models?name=resnet&status=Validated&limit=10&offset=20', { roles: ['Viewer'] });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ items: [], total: 0 });
    expect(asked).toEqual([{ name: 'resnet', status: 'Validated', limit: 10, offset: 20 }]);
  });

  it('refuses bad query parameters with 400 naming them', async () => {
    const reply = await call('/api/v1/models?status=Broken&limit=0&color=red', { roles: ['Viewer'] });
    expect(reply.status).toBe(400);
    expect(reply.body.details.properties.sort()).toEqual(['color', 'limit', 'status']);
  });

  it('returns a model by id, and 404 with the registry message for an unknown id', async () => {
    await serve<ByIdQuery, unknown>(Queries.getModel, ({ id }) => {
      if (id === 'resnet-1.0.0') return { id, name: 'resnet', version: '1.0.0' };
      throw rejection('NOT_FOUND', `model ${id} does not exist`);
    });
    expect((await call('/api/v1/models/resnet-1.0.0', { roles: ['Viewer'] })).body).toEqual({
      id: 'resnet-1.0.0',
      name: 'resnet',
      version: '1.0.0',
    });
    const missing = await call('/api/v1/models/resnet-9.9.9', { roles: ['Viewer'] });
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe('model resnet-9.9.9 does not exist');
  });

  it('refuses a model id holding a NATS wildcard before asking anyone', async () => {
    const reply = await call(`/api/v1/models/${encodeURIComponent('resnet.>')}`, { roles: ['Viewer'] });
    expect(reply.status).toBe(400);
    expect(reply.body.message).toBe('model id "resnet.>" must not contain "*", ">" or whitespace');
  });

  it('lists devices with filters and returns one device', async () => {
    const listed = await serve(Queries.listDevices, () => ({ items: [{ id: 'edge-1' }], total: 1 }));
    await serve<ByIdQuery, unknown>(Queries.getDevice, ({ id }) => ({ id, region: 'eu-west' }));

    const list = await call('/api/v1/devices?region=eu-west&status=Online&tag=camera&limit=5', { roles: ['Operator'] });
    const one = await call('/api/v1/devices/edge-1', { roles: ['Operator'] });

    expect(list.body).toEqual({ items: [{ id: 'edge-1' }], total: 1 });
    expect(listed).toEqual([{ region: 'eu-west', status: 'Online', tag: 'camera', limit: 5 }]);
    expect(one.body).toEqual({ id: 'edge-1', region: 'eu-west' });
  });

  it('refuses a device id with a dot', async () => {
    const reply = await call('/api/v1/devices/edge.1', { roles: ['Viewer'] });
    expect(reply.status).toBe(400);
    expect(reply.body.message).toMatch(/^device id "edge.1" must match/);
  });

  it('answers 503 naming the subject when no service answers, and when one answers too late', async () => {
    const none = await call('/api/v1/devices', { roles: ['Viewer'] });
    expect(none.status).toBe(503);
    expect(none.body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: `device-registry is unavailable: no responders for ${Queries.listDevices}`,
      details: { subject: Queries.listDevices },
    });

    let release = () => undefined as void;
    await serve(Queries.listDevices, () => new Promise<void>((resolve) => (release = resolve)));
    const late = await call('/api/v1/devices', { roles: ['Viewer'] });
    release();
    expect(late.status).toBe(503);
    expect(late.body.message).toBe(
      `device-registry did not answer: request to ${Queries.listDevices} timed out after ${requestTimeoutMs} ms`,
    );
  });

  it('answers unknown routes with 404 in the error format', async () => {
    const reply = await call('/api/v1/nothing-here', { roles: ['Admin'] });
    expect(reply.status).toBe(404);
    expect(reply.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'Cannot GET /api/v1/nothing-here' });
  });
});

describe('GET /artifacts/* (signed downloads)', () => {
  const key = 'models/object-detection-1.2.0/model.onnx';
  const content = randomBytes(5000);
  const signed = (expiresAt: Date) =>
    signUrl('', key, { expiresAt, secret: urlSigningSecret });

  beforeAll(async () => {
    const { Readable } = await import('node:stream');
    await artifacts.put(key, Readable.from([content]));
  });

  it('streams the whole artifact with its length, without a token', async () => {
    const response = await fetch(`${baseUrl}${signed(new Date(NOW.getTime() + 60_000))}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe('5000');
    expect(response.headers.get('accept-ranges')).toBe('bytes');
    expect(response.headers.get('etag')).toBe(`"${sha256(content)}"`);
    expect(Buffer.from(await response.arrayBuffer()).equals(content)).toBe(true);
  });

  it('answers a Range request with 206 and the requested bytes, so a device can resume', async () => {
    const url = `${baseUrl}${signed(new Date(NOW.getTime() + 60_000))}`;
    const response = await fetch(url, { headers: { range: 'bytes=1000-' } });
    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe('bytes 1000-4999/5000');
    expect(response.headers.get('content-length')).toBe('4000');
    expect(Buffer.from(await response.arrayBuffer()).equals(content.subarray(1000))).toBe(true);

    const tail = await fetch(url, { headers: { range: 'bytes=-10' } });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(content.subarray(4990))).toBe(true);
  });

  it('sends everything when If-Range names another version of the artifact', async () => {
    const url = `${baseUrl}${signed(new Date(NOW.getTime() + 60_000))}`;
    const response = await fetch(url, { headers: { range: 'bytes=1000-', 'if-range': '"stale"' } });
    expect(response.status).toBe(200);
    expect((await response.arrayBuffer()).byteLength).toBe(5000);
  });

  it('answers 416 with the size for a range past the end', async () => {
    const url = `${baseUrl}${signed(new Date(NOW.getTime() + 60_000))}`;
    const reply = await call(url.slice(baseUrl.length), { headers: { range: 'bytes=5000-' } });
    expect(reply.status).toBe(416);
    expect(reply.headers.get('content-range')).toBe('bytes */5000');
    expect(reply.body.message).toBe('range "bytes=5000-" is not satisfiable for an artifact of 5000 bytes');
  });

  it('answers HEAD with the length and no body', async () => {
    const response = await fetch(`${baseUrl}${signed(new Date(NOW.getTime() + 60_000))}`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe('5000');
  });

  it('refuses an expired URL with 403', async () => {
    const reply = await call(signed(new Date(NOW.getTime() - 1_000)));
    expect(reply.status).toBe(403);
    expect(reply.body).toEqual({ statusCode: 403, error: 'Forbidden', message: 'download URL expired' });
  });

  it('refuses a tampered URL with 403', async () => {
    const url = signed(new Date(NOW.getTime() + 60_000));
    const otherKey = url.replace('model.onnx', 'other.onnx');
    const laterExpiry = url.replace(/expires=(\d+)/, (_, seconds: string) => `expires=${Number(seconds) + 3600}`);
    for (const tampered of [otherKey, laterExpiry]) {
      const reply = await call(tampered);
      expect(reply.status).toBe(403);
      expect(reply.body.message).toBe('download URL signature is invalid');
    }
  });

  it('refuses an unsigned URL with 403', async () => {
    const reply = await call(`/artifacts/${key}`);
    expect(reply.status).toBe(403);
    expect(reply.body.message).toBe('download URL is not signed: the expires and sig query parameters are required');
  });

  it('answers 404 for a signed URL whose artifact is gone', async () => {
    const gone = 'models/gone-1.0.0/model.onnx';
    const url = signUrl('', gone, { expiresAt: new Date(NOW.getTime() + 60_000), secret: urlSigningSecret });
    const reply = await call(url);
    expect(reply.status).toBe(404);
    expect(reply.body.message).toBe(`no artifact under ${gone}`);
  });
});

describe('health', () => {
  it('/healthz answers 200 without a token', async () => {
    const reply = await call('/healthz');
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ status: 'ok' });
  });

  it('/readyz answers 200 when NATS and every service answer', async () => {
    await serve(Queries.health(Services.modelRegistry), () => ({ status: 'ok' }));
    await serve(Queries.health(Services.distributor), () => ({ status: 'ok' }));
    const reply = await call('/readyz');
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      status: 'ready',
      nats: 'connected',
      services: { 'model-registry': 'ok', distributor: 'ok' },
    });
  });

  it('/readyz answers 503 listing the services that did not answer', async () => {
    await serve(Queries.health(Services.modelRegistry), () => ({ status: 'ok' }));
    const reply = await call('/readyz');
    expect(reply.status).toBe(503);
    expect(reply.body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: `not ready: distributor (no responders for ${Queries.health(Services.distributor)})`,
      details: {
        nats: 'connected',
        services: { 'model-registry': 'ok', distributor: `no responders for ${Queries.health(Services.distributor)}` },
      },
    });
  });

  it('/readyz answers 503 when the gateway has lost NATS (run last: it closes the connection)', async () => {
    await gatewayConnection.close();
    const reply = await call('/readyz');
    expect(reply.status).toBe(503);
    expect(reply.body.message).toMatch(/^not ready: nats \(closed\)/);
    expect(reply.body.details.nats).toBe('closed');
  });
});
