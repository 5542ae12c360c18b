import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { ConfigError } from '../config/index.js';
import { serviceRuntimeFromEnv } from '../runtime/index.js';
import { startNatsServer, type NatsServer } from '../testing/nats-server.js';
import { natsTlsFromEnv } from './nats-tls.js';

/**
 * NATS over TLS against real nats-servers: a CA and certificates made with openssl in a temp dir,
 * one server with TLS and one demanding client certificates (mutual TLS).
 */
let dir: string;
let tlsServer: NatsServer;
let mtlsServer: NatsServer;
const file = (name: string) => join(dir, name);
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

/** A key and a certificate signed by the test CA, for `subject` with `extensions` (an openssl extfile). */
async function issue(name: string, subject: string, extensions: string): Promise<void> {
  await writeFile(file(`${name}.ext`), extensions);
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}-key.pem`, '-subj', subject, '-out', `${name}.csr`);
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '1', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hotswap-nats-tls-'));
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-subj', '/CN=HotSwap test CA', '-days', '1', '-out', 'ca.pem');
  await issue('server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await issue('client', '/CN=hotswap-service', 'extendedKeyUsage=clientAuth\n');
  const tlsBlock = (verify: boolean) => `tls {\n  cert_file: "${file('server.pem')}"\n  key_file: "${file('server-key.pem')}"\n  ca_file: "${file('ca.pem')}"\n  verify: ${verify}\n}\n`;
  await writeFile(file('tls.conf'), tlsBlock(false));
  await writeFile(file('mtls.conf'), tlsBlock(true));
  tlsServer = await startNatsServer({ config: file('tls.conf') });
  mtlsServer = await startNatsServer({ config: file('mtls.conf'), jetstream: false });
}, 60_000);

afterAll(async () => {
  await tlsServer?.stop();
  await mtlsServer?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const attempt = async (server: NatsServer, env: Record<string, string>) => {
  const tls = natsTlsFromEnv(env);
  const nc = await connect({ servers: server.url, maxReconnectAttempts: 0, timeout: 3_000, ...(tls ? { tls } : {}) });
  await nc.flush();
  const secure = nc.info?.tls_required === true;
  await nc.close();
  return secure;
};

describe('NATS TLS', () => {
  it('connects to a TLS server with the configured CA', async () => {
    await expect(attempt(tlsServer, { NATS_TLS_CA_FILE: file('ca.pem') })).resolves.toBe(true);
  });

  it('refuses a server whose certificate does not chain to a trusted CA', async () => {
    await expect(attempt(tlsServer, {})).rejects.toThrow();
  });

  it('presents the client certificate to a server that demands one, and is refused without it', async () => {
    await expect(attempt(mtlsServer, { NATS_TLS_CA_FILE: file('ca.pem'), NATS_TLS_CERT_FILE: file('client.pem'), NATS_TLS_KEY_FILE: file('client-key.pem') }))
      .resolves.toBe(true);
    await expect(attempt(mtlsServer, { NATS_TLS_CA_FILE: file('ca.pem') })).rejects.toThrow();
  });

  it('is what a service runtime connects with', async () => {
    const { runtime, close } = await serviceRuntimeFromEnv('tls-check', {
      NATS_URL: tlsServer.url, NATS_TLS_CA_FILE: file('ca.pem'), HOTSWAP_DATA_DIR: join(dir, 'data'),
    });
    try {
      expect(runtime.nats.info?.tls_required).toBe(true);
      await runtime.nats.flush();
    } finally {
      await close();
    }
  }, 30_000);

  it('validates the files at start-up, naming each variable', () => {
    expect(natsTlsFromEnv({})).toBeUndefined();
    expect(() => natsTlsFromEnv({ NATS_TLS_CA_FILE: file('nope.pem') })).toThrow('NATS_TLS_CA_FILE: no such file');
    expect(() => natsTlsFromEnv({ NATS_TLS_CA_FILE: dir })).toThrow('NATS_TLS_CA_FILE: must be a file, not a directory');
    expect(() => natsTlsFromEnv({ NATS_TLS_CERT_FILE: file('client.pem') })).toThrow(ConfigError);
    expect(() => natsTlsFromEnv({ NATS_TLS_CERT_FILE: file('client.pem') })).toThrow('NATS_TLS_KEY_FILE: missing (NATS_TLS_CERT_FILE and NATS_TLS_KEY_FILE go together)');
    expect(natsTlsFromEnv({ NATS_TLS_CERT_FILE: file('client.pem'), NATS_TLS_KEY_FILE: file('client-key.pem') }))
      .toEqual({ certFile: file('client.pem'), keyFile: file('client-key.pem') });
  });
});
