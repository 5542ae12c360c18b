import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { INestApplication } from '@nestjs/common';
import { Commands, type ModelView, type Role, type UploadModelCommand } from '@hotswap/contracts';
import {
  LocalFileArtifactStore, MessageBus, type BusSubscription, type MessageContext, type ValidationResult,
} from '@hotswap/infrastructure';
import { startNatsServer, type NatsServer } from '@hotswap/infrastructure/testing';
import { createGatewayApp, issueDevToken } from '../../index.js';

/**
 * The upload bad inputs of issue 3, through the real gateway, a real nats-server and a real local
 * artifact store; the test plays the model registry.
 */

jest.setTimeout(20_000);

const jwtSecret = 'upload-test-jwt-secret';
const maxUploadBytes = 1024 * 1024;
const NOW = new Date('2030-06-01T12:00:00.000Z');
const quiet = { warn: () => undefined, error: () => undefined };

let nats: NatsServer;
let gatewayConnection: NatsConnection;
let servicesConnection: NatsConnection;
let services: MessageBus;
let storeDir: string;
let app: INestApplication;
let port: number;
const handlers: BusSubscription[] = [];

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: false });
  gatewayConnection = await connect({ servers: nats.url });
  servicesConnection = await connect({ servers: nats.url });
  services = new MessageBus(servicesConnection, { logger: quiet });
  storeDir = await mkdtemp(join(tmpdir(), 'hotswap-upload-'));
  app = await createGatewayApp(
    {
      bus: new MessageBus(gatewayConnection, { logger: quiet }),
      artifacts: new LocalFileArtifactStore({ rootDir: storeDir }),
      jwtSecret,
      urlSigningSecret: 'upload-test-url-secret',
      maxUploadBytes,
      clock: () => NOW,
      requestTimeoutMs: 1_500,
      uploadTimeoutMs: 1_500,
    },
    { port: 0, host: '127.0.0.1', logger: false },
  );
  ({ port } = app.getHttpServer().address() as { port: number });
}, 30_000);

afterAll(async () => {
  await Promise.all(handlers.splice(0).map((handler) => handler.close()));
  await app?.close();
  await gatewayConnection?.close();
  await servicesConnection?.close();
  await nats?.stop();
  if (storeDir !== undefined) await rm(storeDir, { recursive: true, force: true });
});

beforeEach(async () => {
  await Promise.all(handlers.splice(0).map((handler) => handler.close()));
});

/** Plays the registry on `uploadModel`, recording the commands. */
async function serveUploads(handler: (command: UploadModelCommand, ctx: MessageContext) => ModelView | Promise<ModelView>): Promise<UploadModelCommand[]> {
  const received: UploadModelCommand[] = [];
  handlers.push(await services.handle(Commands.uploadModel, {
    queue: 'upload-test',
    validate: (payload: unknown): ValidationResult<UploadModelCommand> => ({ ok: true, value: payload as UploadModelCommand }),
    handler: (payload, ctx) => {
      received.push(payload);
      return handler(payload, ctx);
    },
  }));
  return received;
}

const token = (roles: Role[] = ['ModelDeveloper']) =>
  issueDevToken({ secret: jwtSecret, subject: 'alice', roles, ttlSeconds: 600, now: NOW });

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Every file the store holds (data, sidecars, temp files). */
async function storedFiles(): Promise<string[]> {
  const entries = await readdir(storeDir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(storeDir.length + 1)).sort();
}

const BOUNDARY = 'upload-boundary';

function multipart(fields: Record<string, string>, artifact: Buffer | undefined): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    parts.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  }
  if (artifact !== undefined) {
    parts.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="artifact"; filename="model.onnx"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n'), artifact, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(parts);
}

interface RawReply {
  readonly status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
}

/**
 * Sends a request over a raw socket with `body` written as is. When `contentLength` claims more,
 * the client then half-closes: it sends nothing more but still reads the reply.
 */
async function rawUpload(body: Buffer, contentLength = body.length): Promise<RawReply> {
  const socket = tcpConnect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(
    `POST /api/v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${await token()}\r\n` +
      `Content-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: ${contentLength}\r\nConnection: close\r\n\r\n`,
  );
  socket.write(body);
  if (contentLength > body.length) socket.end();
  await closed;
  const text = Buffer.concat(chunks).toString('utf8');
  const [head, ...rest] = text.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head ?? '')?.[1] ?? 0);
  const payload = rest.join('\r\n\r\n');
  let parsed: unknown = payload;
  try {
    parsed = JSON.parse(payload);
  } catch {
    // not JSON: kept as text for the assertion message
  }
  return { status, body: parsed };
}

const fields = (artifact: Buffer) => ({ name: 'detector', version: '1.2.0', framework: 'onnx', checksum: sha256(artifact) });

describe('POST /api/v1/models bad inputs', () => {
  it('refuses a Content-Length that claims more than the body holds with 400, leaving nothing staged', async () => {
    const commands = await serveUploads(() => {
      throw new Error('must not be asked');
    });
    const artifact = randomBytes(100_000);
    const body = multipart(fields(artifact), artifact);

    const reply = await rawUpload(body.subarray(0, 60_000), body.length);

    expect(reply).toEqual({
      status: 400,
      body: {
        statusCode: 400,
        error: 'Bad Request',
        message: `the request body ended after 60000 bytes, but its Content-Length announced ${body.length}`,
        details: { receivedBytes: 60_000, contentLength: body.length },
      },
    });
    expect(commands).toEqual([]);
    expect(await storedFiles()).toEqual([]);
  });

  it('refuses a zero-byte file with 400 naming the part, asking nobody and leaving nothing staged', async () => {
    const commands = await serveUploads(() => {
      throw new Error('must not be asked');
    });
    const reply = await rawUpload(multipart(fields(Buffer.alloc(0)), Buffer.alloc(0)));

    expect(reply).toEqual({
      status: 400,
      body: { statusCode: 400, error: 'Bad Request', message: 'the model file "artifact" is empty (0 bytes)', details: { properties: ['artifact'] } },
    });
    expect(commands).toEqual([]);
    expect(await storedFiles()).toEqual([]);
  });

  it('refuses a truncated multipart body (no closing boundary) with 400, leaving nothing staged', async () => {
    const artifact = randomBytes(50_000);
    const body = multipart(fields(artifact), artifact);
    const reply = await rawUpload(body.subarray(0, body.length - 40));

    expect(reply.status).toBe(400);
    expect(reply.body.message).toBe('malformed multipart request: Unexpected end of form');
    expect(await storedFiles()).toEqual([]);
  });

  it('refuses a checksum mismatch with 400 giving both values, leaving nothing staged', async () => {
    const artifact = randomBytes(50_000);
    const claimed = sha256(Buffer.from('other'));
    const reply = await rawUpload(multipart({ ...fields(artifact), checksum: claimed }, artifact));

    expect(reply.status).toBe(400);
    expect(reply.body.details).toEqual({ expected: claimed, actual: sha256(artifact) });
    expect(await storedFiles()).toEqual([]);
  });

  it.each(['1.2', 'v1.2.3', '01.2.3', '1.2.3.4', 'latest', '1.2.3-'])('refuses the garbage semver %j with 400 naming version', async (version) => {
    const artifact = randomBytes(1000);
    const reply = await rawUpload(multipart({ ...fields(artifact), version }, artifact));

    expect(reply.status).toBe(400);
    expect(reply.body.message).toBe('invalid upload fields: version: version must be a semantic version MAJOR.MINOR.PATCH [matches]');
    expect(reply.body.details).toEqual({ properties: ['version'] });
    expect(await storedFiles()).toEqual([]);
  });

  it('refuses an artifact over the limit with 413 naming the limit, leaving nothing staged', async () => {
    const artifact = randomBytes(maxUploadBytes + 1);
    const { checksum: _none, ...noChecksum } = fields(artifact);
    const reply = await rawUpload(multipart(noChecksum, artifact));

    expect(reply.status).toBe(413);
    expect(reply.body.message).toBe(`the artifact is larger than the limit of ${maxUploadBytes} bytes`);
    expect(reply.body.details).toEqual({ maxSizeBytes: maxUploadBytes });
    expect(await storedFiles()).toEqual([]);
  });

  it('passes on a duplicate id as 409 and removes the second staged file', async () => {
    const commands = await serveUploads((command) => {
      throw Object.assign(new Error(`model ${command.name}-${command.version} already exists`), {
        code: 'CONFLICT', details: { id: `${command.name}-${command.version}` },
      });
    });
    const artifact = randomBytes(1000);
    const reply = await rawUpload(multipart(fields(artifact), artifact));

    expect(reply).toEqual({
      status: 409,
      body: { statusCode: 409, error: 'Conflict', message: 'model detector-1.2.0 already exists', details: { id: 'detector-1.2.0' } },
    });
    expect(commands).toHaveLength(1);
    expect(await storedFiles()).toEqual([]);
  });

  it('forwards a whole upload sent over a raw connection', async () => {
    const commands = await serveUploads((command) => ({
      id: `${command.name}-${command.version}`, name: command.name, version: command.version, framework: command.framework,
      status: 'Uploaded', checksum: command.sha256, sizeBytes: command.sizeBytes, metadata: command.metadata,
      uploadedAt: NOW.toISOString(), uploadedBy: command.actor,
    }));
    const artifact = randomBytes(200_000);
    const reply = await rawUpload(multipart(fields(artifact), artifact));

    expect(reply.status).toBe(202);
    expect(reply.body).toMatchObject({ id: 'detector-1.2.0', checksum: sha256(artifact), sizeBytes: artifact.length });
    expect(commands[0]).toMatchObject({ sha256: sha256(artifact), sizeBytes: artifact.length });
  });
});
