import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { HotSwapClient } from './hotswap-client.js';

export const DEFAULT_URL = 'http://127.0.0.1:8080';

/** Lifetime of the Admin token minted for one CLI call, in seconds. */
const FALLBACK_TOKEN_TTL_SECONDS = 600;

export interface ConnectionFlags {
  /** `--url`, over `HOTSWAP_URL`. */
  readonly url?: string | undefined;
  /** `--token`, over `HOTSWAP_TOKEN`. */
  readonly token?: string | undefined;
}

export interface Connection {
  readonly client: HotSwapClient;
  readonly url: string;
  /** Said on stderr: where the token came from when it was not given. */
  readonly notice?: string;
}

/** `--url` is not an http(s) URL. */
export class BadUrlError extends Error {
  override readonly name = 'BadUrlError';
}

/**
 * The API to talk to and the token to send: flags over `HOTSWAP_URL` / `HOTSWAP_TOKEN`. Without a
 * token, against a loopback URL, an Admin dev token is minted from the embedded default's JWT key
 * (`<HOTSWAP_DATA_DIR>/keys/jwt-secret`, or `HOTSWAP_JWT_SECRET`) as `hotswap token` would.
 * Never for a remote URL: a token signed with the local key has no business leaving the machine.
 */
export async function connect(flags: ConnectionFlags, env: NodeJS.ProcessEnv): Promise<Connection> {
  const url = (flags.url ?? env['HOTSWAP_URL'] ?? DEFAULT_URL).replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new BadUrlError(`the HotSwap URL must be http(s)://host[:port], got "${url}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new BadUrlError(`the HotSwap URL must be http(s)://host[:port], got "${url}"`);

  const token = flags.token ?? nonEmpty(env['HOTSWAP_TOKEN']);
  if (token !== undefined || !isLoopback(parsed.hostname)) return { client: new HotSwapClient(url, token), url };
  // Loaded only here: the gateway and its framework are heavy for a CLI call that sends a token.
  const [{ issueDevToken }, { defaultDataDir }] = await Promise.all([import('@hotswap/gateway'), import('../embedded/local-secrets.js')]);
  const secretFile = join(resolve(defaultDataDir(env)), 'keys', 'jwt-secret');
  const secret = nonEmpty(env['HOTSWAP_JWT_SECRET']) ?? (existsSync(secretFile) ? readFileSync(secretFile, 'utf8') : undefined);
  if (secret === undefined) return { client: new HotSwapClient(url, undefined), url };
  const minted = await issueDevToken({ secret, subject: 'hotswap-cli', roles: ['Admin'], ttlSeconds: FALLBACK_TOKEN_TTL_SECONDS });
  const from = env['HOTSWAP_JWT_SECRET'] ? 'HOTSWAP_JWT_SECRET' : secretFile;
  return { client: new HotSwapClient(url, minted), url, notice: `no HOTSWAP_TOKEN set: using an Admin dev token signed with ${from}` };
}

const nonEmpty = (value: string | undefined) => (value === undefined || value === '' ? undefined : value);

const isLoopback = (hostname: string) => hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
