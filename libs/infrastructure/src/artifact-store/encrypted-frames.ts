/**
 * AES-256-GCM encryption at rest in fixed-size frames, so a byte range is read by decrypting only
 * the frames it touches. Each artifact gets its own key, derived with HKDF-SHA256 from the store's
 * master key and a random per-artifact salt; frame `i` uses the nonce `i` (unique per key), which
 * also binds each frame to its position, so reordered frames fail authentication. On disk, frame
 * `i` is its ciphertext followed by its 16-byte tag at offset `i · (frameBytes + 16)`; only the
 * last frame may be shorter. The artifact's size (in the sidecar) says how many frames there are,
 * so a truncated file is detected too.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ArtifactStoreError } from './errors.js';

export const ENCRYPTION_ALGORITHM = 'aes-256-gcm';
/** Plaintext bytes per frame. */
export const DEFAULT_FRAME_BYTES = 64 * 1024;
export const TAG_BYTES = 16;
const KEY_BYTES = 32;
const SALT_BYTES = 16;

/** What a sidecar records to decrypt the artifact again. */
export interface EncryptionParams {
  readonly algorithm: typeof ENCRYPTION_ALGORITHM;
  readonly frameBytes: number;
  /** Base64 salt of the per-artifact key. */
  readonly salt: string;
}

/** A frame failed authentication: the file was altered, truncated or belongs to another key. */
export class FrameAuthenticationError extends ArtifactStoreError {
  constructor(
    readonly key: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`artifact ${JSON.stringify(key)} is corrupt or was tampered with: ${reason}`, options);
  }
}

export function assertEncryptionKey(key: Buffer): void {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) {
    throw new RangeError(`the artifact encryption key must be ${KEY_BYTES} bytes, got ${Buffer.isBuffer(key) ? key.length : typeof key}`);
  }
}

export function newEncryptionParams(frameBytes = DEFAULT_FRAME_BYTES): EncryptionParams {
  return { algorithm: ENCRYPTION_ALGORITHM, frameBytes, salt: randomBytes(SALT_BYTES).toString('base64') };
}

function artifactKey(masterKey: Buffer, params: EncryptionParams): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.from(params.salt, 'base64'), 'hotswap artifact v1', KEY_BYTES));
}

function nonce(frame: number): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeUIntBE(frame, 6, 6);
  return iv;
}

/** Encrypted size of `plainBytes` of plaintext. */
export function encryptedSize(plainBytes: number, frameBytes: number): number {
  return plainBytes + Math.ceil(plainBytes / frameBytes) * TAG_BYTES;
}

/** Encrypts a plaintext stream into frames. */
export function encryptFrames(masterKey: Buffer, params: EncryptionParams): Transform {
  const key = artifactKey(masterKey, params);
  const { frameBytes } = params;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let frame = 0;
  const seal = (plain: Buffer): Buffer => {
    const cipher = createCipheriv(ENCRYPTION_ALGORITHM, key, nonce(frame++));
    const sealed = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return sealed;
  };
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= frameBytes) {
        const all = Buffer.concat(pending, pendingBytes);
        let at = 0;
        for (; at + frameBytes <= all.length; at += frameBytes) this.push(seal(all.subarray(at, at + frameBytes)));
        pending = at < all.length ? [all.subarray(at)] : [];
        pendingBytes = all.length - at;
      }
      callback();
    },
    flush(callback: TransformCallback) {
      if (pendingBytes > 0) this.push(seal(Buffer.concat(pending, pendingBytes)));
      callback();
    },
  });
}

/**
 * Decrypts the encrypted bytes of frames `firstFrame…` (read from disk in order) and passes on
 * the plaintext bytes `[skipBytes, skipBytes + takeBytes)` of what they hold.
 */
export function decryptFrames(
  masterKey: Buffer,
  params: EncryptionParams,
  range: { readonly key: string; readonly firstFrame: number; readonly skipBytes: number; readonly takeBytes: number; readonly plainSize: number },
): Transform {
  const key = artifactKey(masterKey, params);
  const sealedFrame = params.frameBytes + TAG_BYTES;
  let frame = range.firstFrame;
  let skip = range.skipBytes;
  let remaining = range.takeBytes;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const expectedSealed = (index: number) =>
    Math.min(params.frameBytes, range.plainSize - index * params.frameBytes) + TAG_BYTES;
  const open = (sealed: Buffer): Buffer => {
    const decipher = createDecipheriv(ENCRYPTION_ALGORITHM, key, nonce(frame));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]);
    } catch (error) {
      throw new FrameAuthenticationError(range.key, `frame ${frame} failed authentication`, { cause: error });
    } finally {
      frame++;
    }
  };
  const emit = (stream: Transform, plain: Buffer) => {
    const from = Math.min(skip, plain.length);
    skip -= from;
    const piece = plain.subarray(from, from + remaining);
    remaining -= piece.length;
    if (piece.length > 0) stream.push(piece);
  };
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      try {
        if (pendingBytes >= sealedFrame) {
          const all = Buffer.concat(pending, pendingBytes);
          let at = 0;
          for (; at + sealedFrame <= all.length && remaining > 0; at += sealedFrame) emit(this, open(all.subarray(at, at + sealedFrame)));
          pending = at < all.length ? [all.subarray(at)] : [];
          pendingBytes = all.length - at;
        }
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback: TransformCallback) {
      try {
        if (remaining > 0) {
          const expected = expectedSealed(frame);
          if (pendingBytes !== expected) {
            throw new FrameAuthenticationError(range.key, `frame ${frame} is ${pendingBytes} bytes on disk, expected ${expected} (truncated?)`);
          }
          emit(this, open(Buffer.concat(pending, pendingBytes)));
        }
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}
