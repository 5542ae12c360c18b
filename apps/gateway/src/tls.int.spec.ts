import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { INestApplication } from '@nestjs/common';
import { LocalFileArtifactStore, type MessageBus } from '@hotswap/infrastructure';
import { createGatewayApp } from './index.js';

/** With a certificate and key the gateway speaks HTTPS only; the certificate is made by openssl here. */
jest.setTimeout(30_000);

let dir: string;
let cert: Buffer;
let app: INestApplication;
let port: number;

function httpsGet(path: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, ca, servername: 'localhost' }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-tls-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', keyFile, '-out', certFile,
  ]);
  cert = await readFile(certFile);
  app = await createGatewayApp({
    // Only /healthz is called, which needs neither NATS nor the store.
    bus: {} as MessageBus, artifacts: new LocalFileArtifactStore({ rootDir: dir }),
    jwtSecret: 'j', urlSigningSecret: 'u', maxUploadBytes: 1024, clock: () => new Date(),
  }, { host: '127.0.0.1', port: 0, logger: false, https: { cert, key: await readFile(keyFile) } });
  port = (app.getHttpServer().address() as { port: number }).port;
});

afterAll(async () => {
  await app?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('gateway over TLS', () => {
  it('serves HTTPS with the configured certificate', async () => {
    expect(await httpsGet('/healthz', cert)).toMatchObject({ status: 200 });
  });

  it('does not answer plain HTTP', async () => {
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  it('is refused by a client that does not trust the certificate', async () => {
    await expect(new Promise((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: '/healthz', servername: 'localhost' }, resolve).on('error', reject);
    })).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
  });
});
