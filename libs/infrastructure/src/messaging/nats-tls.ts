import { accessSync, constants, statSync } from 'node:fs';
import type { TlsOptions } from '@nats-io/transport-node';
import { ConfigError, ConfigValueError, defineConfig, loadConfig } from '../config/index.js';

/** A path to a file this process can read, checked at start-up so a typo stops the service at once. */
function readableFile(raw: string): string {
  const path = raw.trim();
  try {
    if (!statSync(path).isFile()) throw new ConfigValueError('must be a file, not a directory');
    accessSync(path, constants.R_OK);
  } catch (error) {
    if (error instanceof ConfigValueError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigValueError(code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'the file cannot be read (permission denied)' : `cannot be read (${code ?? String(error)})`);
  }
  return path;
}

export const natsTlsConfig = defineConfig({
  caFile: { env: 'NATS_TLS_CA_FILE', optional: true, parse: readableFile, description: 'PEM CA certificate(s) the NATS server certificate must chain to; turns on TLS to NATS' },
  certFile: { env: 'NATS_TLS_CERT_FILE', optional: true, parse: readableFile, description: 'PEM client certificate for NATS (mutual TLS; needs NATS_TLS_KEY_FILE)' },
  keyFile: { env: 'NATS_TLS_KEY_FILE', optional: true, parse: readableFile, description: 'PEM private key of NATS_TLS_CERT_FILE' },
});

/**
 * The TLS options of every NATS connection a service opens, from `NATS_TLS_*`; undefined when none
 * is set (the client then follows the server: plain, or TLS with the system CAs if it requires TLS).
 * @throws ConfigError naming each missing file, or a certificate given without its key.
 */
export function natsTlsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): TlsOptions | undefined {
  const { caFile, certFile, keyFile } = loadConfig(natsTlsConfig, env);
  if ((certFile === undefined) !== (keyFile === undefined)) {
    const missing = certFile === undefined ? 'NATS_TLS_CERT_FILE' : 'NATS_TLS_KEY_FILE';
    throw new ConfigError([{ env: missing, problem: 'missing (NATS_TLS_CERT_FILE and NATS_TLS_KEY_FILE go together)' }]);
  }
  if (caFile === undefined && certFile === undefined) return undefined;
  return { ...(caFile === undefined ? {} : { caFile }), ...(certFile === undefined ? {} : { certFile }), ...(keyFile === undefined ? {} : { keyFile }) };
}
