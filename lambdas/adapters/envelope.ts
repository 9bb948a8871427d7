// Envelope encryption of small secrets (the shared cache's session blobs): AES-256-GCM under a data key, the
// data key itself encrypted by a key provider (KMS in Lambda, an in-process key locally) under an encryption
// context. The port (`Envelope`) sits next to its default implementation (`DataKeyEnvelope`); the KMS key
// provider is in `kms-envelope.ts`, the local one at the end of this file.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** Names what a ciphertext belongs to; opening needs exactly the same pairs (KMS checks them, GCM authenticates them). */
export type EncryptionContext = Readonly<Record<string, string>>;

/** Seals and opens small secrets bound to an encryption context. */
export interface Envelope {
  seal(plaintext: Uint8Array, context: EncryptionContext): Promise<Uint8Array>;
  /** Throws {@link EnvelopeOpenError} when the ciphertext can never open (tampered, other context, other key). */
  open(sealed: Uint8Array, context: EncryptionContext): Promise<Uint8Array>;
}

/**
 * A sealed value that will never open: tampered with, sealed under another context or key, or not an
 * envelope at all. Unlike a refused or throttled key provider, retrying cannot help.
 */
export class EnvelopeOpenError extends Error {
  override readonly name = 'EnvelopeOpenError';
  readonly code = 'invalid_ciphertext';
}

/** A plaintext data key and the same key encrypted by the key provider. */
export interface DataKey {
  readonly plaintext: Uint8Array;
  readonly encrypted: Uint8Array;
}

/** Makes and unwraps 256-bit data keys under an encryption context (KMS `GenerateDataKey` / `Decrypt`). */
export interface DataKeyProvider {
  generate(context: EncryptionContext): Promise<DataKey>;
  /** Throws {@link EnvelopeOpenError} when the encrypted key can never be unwrapped under this context. */
  decrypt(encrypted: Uint8Array, context: EncryptionContext): Promise<Uint8Array>;
}

export interface DataKeyEnvelopeOptions {
  /**
   * How long one data key seals new values for the same context, and how long an unwrapped data key is
   * remembered. Longer saves key-provider calls; shorter makes a revoked key permission bite sooner.
   * `0` asks the key provider on every seal and open. @default 300000 (5 minutes)
   */
  readonly dataKeyMaxAgeMs?: number;
  /** Unwrapped data keys remembered at most (oldest dropped first). @default 10000 */
  readonly maxCachedKeys?: number;
  readonly clock?: { now(): number };
}

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The context in one canonical form: sorted keys, so `{a,b}` and `{b,a}` authenticate alike. */
export function canonicalContext(context: EncryptionContext): string {
  return JSON.stringify(
    Object.keys(context)
      .sort()
      .map((key) => [key, context[key]]),
  );
}

interface CachedKey {
  readonly key: DataKey;
  readonly until: number;
}

/**
 * AES-256-GCM with a random 96-bit IV under a data key from a {@link DataKeyProvider}.
 * Layout: `version (1) | length of the encrypted key (2, big-endian) | encrypted key | IV (12) | tag (16) | ciphertext`.
 * The additional authenticated data is the header (version, encrypted key) and the canonical context, so a
 * blob moved to another tenant or table, or given another encrypted key, fails to open.
 *
 * Data keys are cached in this process only: one per context seals for `dataKeyMaxAgeMs`, and each unwrapped
 * key is remembered as long, so repeated reads of one item (lease waits, the refresher) ask the provider once.
 */
export class DataKeyEnvelope implements Envelope {
  private readonly sealing = new Map<string, CachedKey | Promise<DataKey>>();
  private readonly opened = new Map<string, CachedKey>();
  private readonly opening = new Map<string, Promise<Uint8Array>>();
  private readonly maxAgeMs: number;
  private readonly maxCachedKeys: number;
  private readonly clock: { now(): number };

  constructor(
    private readonly provider: DataKeyProvider,
    options: DataKeyEnvelopeOptions = {},
  ) {
    this.maxAgeMs = options.dataKeyMaxAgeMs ?? 300_000;
    this.maxCachedKeys = Math.max(1, options.maxCachedKeys ?? 10_000);
    this.clock = options.clock ?? Date;
  }

  async seal(plaintext: Uint8Array, context: EncryptionContext): Promise<Uint8Array> {
    const key = await this.sealingKey(context);
    const header = Buffer.alloc(3 + key.encrypted.length);
    header.writeUInt8(VERSION, 0);
    header.writeUInt16BE(key.encrypted.length, 1);
    Buffer.from(key.encrypted).copy(header, 3);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.plaintext, iv);
    cipher.setAAD(Buffer.concat([header, Buffer.from(canonicalContext(context))]));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([header, iv, cipher.getAuthTag(), ciphertext]);
  }

  async open(sealed: Uint8Array, context: EncryptionContext): Promise<Uint8Array> {
    const blob = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    if (blob.length < 3 || blob.readUInt8(0) !== VERSION) throw new EnvelopeOpenError('Not a sealed value (version).');
    const keyLength = blob.readUInt16BE(1);
    const bodyStart = 3 + keyLength;
    if (keyLength === 0 || blob.length < bodyStart + IV_BYTES + TAG_BYTES) {
      throw new EnvelopeOpenError('Not a sealed value (truncated).');
    }
    const header = blob.subarray(0, bodyStart);
    const encryptedKey = blob.subarray(3, bodyStart);
    const iv = blob.subarray(bodyStart, bodyStart + IV_BYTES);
    const tag = blob.subarray(bodyStart + IV_BYTES, bodyStart + IV_BYTES + TAG_BYTES);
    const ciphertext = blob.subarray(bodyStart + IV_BYTES + TAG_BYTES);
    const dataKey = await this.openingKey(encryptedKey, context);
    try {
      const decipher = createDecipheriv('aes-256-gcm', dataKey, iv);
      decipher.setAAD(Buffer.concat([header, Buffer.from(canonicalContext(context))]));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    } catch {
      throw new EnvelopeOpenError('The sealed value failed authentication (tampered, or another context).');
    }
  }

  private async sealingKey(context: EncryptionContext): Promise<DataKey> {
    const id = canonicalContext(context);
    const cached = this.sealing.get(id);
    if (cached instanceof Promise) return cached;
    if (cached && cached.until > this.clock.now()) return cached.key;
    // Concurrent seals for one context share one key-provider call.
    const pending = this.provider.generate(context);
    this.sealing.set(id, pending);
    try {
      const key = await pending;
      if (this.maxAgeMs > 0) {
        this.sealing.set(id, { key, until: this.clock.now() + this.maxAgeMs });
        // The writer can open what it sealed without asking the provider.
        this.remember(this.openedId(key.encrypted, id), key);
      } else {
        this.sealing.delete(id);
      }
      return key;
    } catch (error) {
      this.sealing.delete(id);
      throw error;
    }
  }

  private async openingKey(encryptedKey: Uint8Array, context: EncryptionContext): Promise<Uint8Array> {
    const id = this.openedId(encryptedKey, canonicalContext(context));
    const cached = this.opened.get(id);
    if (cached && cached.until > this.clock.now()) return cached.key.plaintext;
    // Concurrent opens of values under one data key share one key-provider call.
    let pending = this.opening.get(id);
    if (!pending) {
      pending = this.unwrap(id, encryptedKey, context).finally(() => this.opening.delete(id));
      this.opening.set(id, pending);
    }
    return pending;
  }

  private async unwrap(id: string, encryptedKey: Uint8Array, context: EncryptionContext): Promise<Uint8Array> {
    const plaintext = await this.provider.decrypt(encryptedKey, context);
    if (plaintext.length !== 32) throw new EnvelopeOpenError('The data key is not 256 bits.');
    if (this.maxAgeMs > 0) this.remember(id, { plaintext, encrypted: Buffer.from(encryptedKey) });
    return plaintext;
  }

  private openedId(encryptedKey: Uint8Array, canonical: string): string {
    return `${Buffer.from(encryptedKey).toString('base64')}|${canonical}`;
  }

  private remember(id: string, key: DataKey): void {
    this.opened.delete(id);
    this.opened.set(id, { key, until: this.clock.now() + this.maxAgeMs });
    while (this.opened.size > this.maxCachedKeys) {
      const oldest = this.opened.keys().next().value as string;
      this.opened.delete(oldest);
    }
  }
}

/**
 * Local mode's stand-in for KMS: data keys wrapped with AES-256-GCM under one in-process master key,
 * the context authenticated as with KMS. Every envelope built with the same master key opens the
 * others' values (several in-process "containers", or processes given the same key).
 */
export class LocalKeyProvider implements DataKeyProvider {
  private readonly master: Buffer;

  /** @param masterKey 32 bytes; @default random (values do not outlive the process) */
  constructor(masterKey?: Uint8Array) {
    if (masterKey && masterKey.length !== 32) throw new Error('The local master key must be 32 bytes.');
    this.master = masterKey ? Buffer.from(masterKey) : randomBytes(32);
  }

  async generate(context: EncryptionContext): Promise<DataKey> {
    const plaintext = randomBytes(32);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.master, iv);
    cipher.setAAD(Buffer.from(canonicalContext(context)));
    const wrapped = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { plaintext, encrypted: Buffer.concat([iv, cipher.getAuthTag(), wrapped]) };
  }

  async decrypt(encrypted: Uint8Array, context: EncryptionContext): Promise<Uint8Array> {
    const blob = Buffer.from(encrypted);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.master, blob.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(canonicalContext(context)));
      decipher.setAuthTag(blob.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(blob.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
    } catch {
      throw new EnvelopeOpenError('The data key does not open under this master key and context.');
    }
  }
}

/** The master key every local envelope of this process shares, unless `TVM_LOCAL_CACHE_KEY` names one. */
let processMasterKey: Buffer | undefined;

/**
 * The local envelope: an in-process master key, from `TVM_LOCAL_CACHE_KEY` (32 bytes, base64) when set so
 * that several local processes share one cache, else random per process.
 */
export function localEnvelope(env: Record<string, string | undefined> = process.env): Envelope {
  const configured = env.TVM_LOCAL_CACHE_KEY;
  let master: Buffer;
  if (configured) {
    master = Buffer.from(configured, 'base64');
    if (master.length !== 32) throw new Error('TVM_LOCAL_CACHE_KEY must be 32 bytes, base64-encoded.');
  } else {
    processMasterKey ??= randomBytes(32);
    master = processMasterKey;
  }
  return new DataKeyEnvelope(new LocalKeyProvider(master));
}
