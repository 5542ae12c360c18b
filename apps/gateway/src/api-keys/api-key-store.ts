import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  ConflictException, Inject, Injectable, NotFoundException, ServiceUnavailableException,
} from '@nestjs/common';
import { Kvm, type KV } from '@nats-io/kv';
import type { ApiKeyView, IssuedApiKey } from '@hotswap/contracts';
import { GATEWAY_DEPS, type GatewayDeps } from '../gateway-deps.js';

/** KV bucket of the managed device registration API keys (key = key id, value = `StoredApiKey`). */
export const API_KEYS_BUCKET = 'hotswap-api-keys';

const KEY_FORMAT = /^hsk_([0-9a-f]{16})_([A-Za-z0-9_-]{32})$/;

/** What the bucket holds: the key's SHA-256, never the key. */
interface StoredApiKey extends Omit<ApiKeyView, 'status'> {
  readonly sha256: string;
}

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * Admin-managed registration keys in NATS KV, read on every use so that a rotation or revocation
 * made through any gateway replica takes effect at once. The bucket is opened on first use, so a
 * gateway whose registrations only use the bootstrap keys needs no JetStream.
 */
@Injectable()
export class ApiKeyStore {
  private bucket?: Promise<KV>;

  constructor(@Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps) {}

  async create(name: string, createdBy: string): Promise<IssuedApiKey> {
    const id = randomBytes(8).toString('hex');
    const key = newKey(id);
    const stored: StoredApiKey = { id, name: name.trim(), createdAt: this.deps.clock().toISOString(), createdBy, sha256: sha256Hex(key) };
    await this.kvCall(async (kv) => kv.create(id, JSON.stringify(stored)));
    return { ...viewOf(stored), key };
  }

  async list(): Promise<ApiKeyView[]> {
    return this.kvCall(async (kv) => {
      const views: ApiKeyView[] = [];
      for await (const id of await kv.keys()) {
        const entry = await kv.get(id);
        if (entry !== null && entry.operation === 'PUT') views.push(viewOf(entry.json<StoredApiKey>()));
      }
      return views.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
    });
  }

  /** A new secret for the key; the old one stops working at once. */
  async rotate(id: string): Promise<IssuedApiKey> {
    const key = newKey(id);
    const stored = await this.change(id, (current) => ({ ...current, sha256: sha256Hex(key), rotatedAt: this.deps.clock().toISOString() }));
    return { ...viewOf(stored), key };
  }

  async revoke(id: string): Promise<ApiKeyView> {
    return viewOf(await this.change(id, (current) => ({ ...current, revokedAt: this.deps.clock().toISOString() })));
  }

  /** The id of the active managed key `key`, or undefined when it is not one. */
  async verify(key: string): Promise<string | undefined> {
    const match = KEY_FORMAT.exec(key);
    if (match === null) return undefined;
    const entry = await this.kvCall((kv) => kv.get(match[1]));
    if (entry === null || entry.operation !== 'PUT') return undefined;
    const stored = entry.json<StoredApiKey>();
    const known = Buffer.from(stored.sha256, 'hex');
    const given = Buffer.from(sha256Hex(key), 'hex');
    // Constant-time, like the bootstrap keys.
    const matches = known.length === given.length && timingSafeEqual(known, given);
    return matches && stored.revokedAt === undefined ? stored.id : undefined;
  }

  private async change(id: string, update: (current: StoredApiKey) => StoredApiKey): Promise<StoredApiKey> {
    return this.kvCall(async (kv) => {
      const entry = /^[0-9a-f]{16}$/.test(id) ? await kv.get(id) : null;
      if (entry === null || entry.operation !== 'PUT') throw new NotFoundException(`no API key ${id}`);
      const current = entry.json<StoredApiKey>();
      if (current.revokedAt !== undefined) throw new ConflictException(`API key ${id} was revoked at ${current.revokedAt}`);
      const next = update(current);
      // Compare-and-set: a concurrent rotate/revoke on another replica makes this one fail, not vanish.
      await kv.update(id, JSON.stringify(next), entry.revision);
      return next;
    });
  }

  private async kvCall<T>(call: (kv: KV) => Promise<T>): Promise<T> {
    let kv: KV;
    try {
      this.bucket ??= new Kvm(this.deps.bus.connection).create(API_KEYS_BUCKET, { history: 1 });
      kv = await this.bucket;
    } catch (error) {
      this.bucket = undefined;
      throw new ServiceUnavailableException(`the API key store (NATS KV ${API_KEYS_BUCKET}) is unavailable: ${(error as Error).message}`, { cause: error });
    }
    return call(kv);
  }
}

function newKey(id: string): string {
  return `hsk_${id}_${randomBytes(24).toString('base64url')}`;
}

function viewOf({ sha256: _hash, ...stored }: StoredApiKey): ApiKeyView {
  return { ...stored, status: stored.revokedAt === undefined ? 'active' : 'revoked' };
}
