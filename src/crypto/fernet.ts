/**
 * Fernet tokens (version 0x80) composed from node:crypto primitives, plus a keyring for rotation.
 *
 * Decoding is deliberately stricter than Python's reference implementation: only canonical,
 * padded url-safe base64 is accepted, so every token has exactly one spelling.
 *
 * @see https://github.com/fernet/spec/blob/master/Spec.md
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  randomBytes,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import { inspect } from 'node:util';

const VERSION = 0x80;
const KEY_BYTES = 32;
const BLOCK_BYTES = 16;
const HEADER_BYTES = 1 + 8 + BLOCK_BYTES; // version, timestamp, IV
const MAC_BYTES = 32;
/**
 * The spec's prose leaves this out; its invalid.json vectors ("far-future TS") and the reference
 * implementations refuse tokens stamped more than 60 s ahead of the verifier's clock.
 * @see https://github.com/fernet/spec/blob/master/invalid.json
 */
const MAX_CLOCK_SKEW_SEC = 60;

export type FernetErrorReason =
  | 'invalid_key'
  | 'bad_encoding'
  | 'too_short'
  | 'bad_version'
  | 'bad_length'
  | 'clock_skew'
  | 'expired'
  | 'bad_mac'
  | 'bad_padding';

/** Messages are fixed strings: they never carry key, token or plaintext material. */
export class FernetError extends Error {
  override readonly name = 'FernetError';

  constructor(
    message: string,
    readonly reason: FernetErrorReason,
  ) {
    super(message);
  }
}

const invalidToken = (reason: FernetErrorReason) => new FernetError('invalid token', reason);

interface KeyMaterial {
  signing: KeyObject;
  encryption: KeyObject;
}

// The bytes live here rather than on the instance, so no spread, reflection or serializer that
// is handed a FernetKey can reach them.
const materials = new WeakMap<FernetKey, KeyMaterial>();

function materialOf(key: FernetKey): KeyMaterial {
  const material = materials.get(key);
  if (!material) throw new TypeError('not a FernetKey');
  return material;
}

/** A parsed key: the first 16 bytes sign, the last 16 encrypt. It never prints its bytes. */
export class FernetKey {
  private constructor(bytes: Buffer) {
    materials.set(this, {
      signing: createSecretKey(bytes.subarray(0, 16)),
      encryption: createSecretKey(bytes.subarray(16)),
    });
  }

  static parse(encoded: string): FernetKey {
    const bytes = decodeStrict(encoded);
    if (bytes?.length !== KEY_BYTES) throw new FernetError('invalid key', 'invalid_key');
    return new FernetKey(bytes);
  }

  static generate(): string {
    return encode(randomBytes(KEY_BYTES));
  }

  toJSON(): string {
    return '[FernetKey]';
  }

  toString(): string {
    return '[FernetKey]';
  }

  [inspect.custom](): string {
    return '[FernetKey]';
  }
}

export interface EncryptOptions {
  /** Unix time in seconds; defaults to the clock. */
  now?: number;
  /** Fixed IV for test vectors only: the spec requires a unique IV per token. */
  iv?: Buffer;
}

export interface DecryptOptions {
  /** Refuse tokens older than this many seconds. */
  ttlSec?: number;
  /** Unix time in seconds; defaults to the clock. */
  now?: number;
}

/**
 * IVs are drawn from a buffer of CSPRNG output refilled 256 IVs at a time: one call into the
 * generator per 256 tokens instead of one per token. Each IV is handed out once, and an IV is
 * public in its token anyway.
 */
const IV_POOL_BYTES = BLOCK_BYTES * 256;
let ivPool = Buffer.alloc(0);
let ivOffset = 0;

function freshIv(): Buffer {
  if (ivOffset + BLOCK_BYTES > ivPool.length) {
    ivPool = randomBytes(IV_POOL_BYTES);
    ivOffset = 0;
  }
  const iv = ivPool.subarray(ivOffset, ivOffset + BLOCK_BYTES);
  ivOffset += BLOCK_BYTES;
  return iv;
}

export function encrypt(
  key: FernetKey,
  plaintext: Buffer | string,
  opts: EncryptOptions = {},
): string {
  const { signing, encryption } = materialOf(key);
  const now = Math.floor(opts.now ?? Date.now() / 1000);
  if (!Number.isSafeInteger(now) || now < 0) throw new RangeError('now must be unix seconds');
  const iv = opts.iv ?? freshIv();
  if (iv.length !== BLOCK_BYTES) throw new RangeError('iv must be 16 bytes');

  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt8(VERSION, 0);
  header.writeBigUInt64BE(BigInt(now), 1);
  iv.copy(header, 9);
  // Node's default autoPadding is the PKCS #7 padding the spec asks for.
  const cipher = createCipheriv('aes-128-cbc', encryption, iv);
  const message = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
  const signed = Buffer.concat([header, cipher.update(message), cipher.final()]);
  const mac = createHmac('sha256', signing).update(signed).digest();
  return encode(Buffer.concat([signed, mac]));
}

/** Steps in the spec's order: format, version, timestamp, HMAC, then decryption. */
export function decrypt(key: FernetKey, token: string, opts: DecryptOptions = {}): Buffer {
  const parsed = parseToken(token);
  checkTimestamp(parsed.timestamp, opts);
  if (!verifies(key, parsed)) throw invalidToken('bad_mac');
  return open(key, parsed);
}

/** Keys in rotation order: the first encrypts, every key decrypts. */
export class Keyring {
  readonly #current: FernetKey;
  readonly #keys: readonly FernetKey[];

  constructor(encodedKeys: readonly string[]) {
    const keys: FernetKey[] = [];
    const malformed: number[] = [];
    for (const [index, encoded] of encodedKeys.entries()) {
      try {
        keys.push(FernetKey.parse(encoded));
      } catch (error) {
        if (!(error instanceof FernetError)) throw error;
        malformed.push(index + 1);
      }
    }
    // Positions only: the values are secrets and error messages end up in logs.
    if (malformed.length > 0) {
      const where = malformed.join(', ');
      throw new FernetError(
        `invalid key at position ${where}: each key must be 32 bytes of padded url-safe base64`,
        'invalid_key',
      );
    }
    const current = keys[0];
    if (!current) throw new FernetError('a keyring needs at least one key', 'invalid_key');
    this.#current = current;
    this.#keys = keys;
  }

  get size(): number {
    return this.#keys.length;
  }

  encrypt(plaintext: Buffer | string): string {
    return encrypt(this.#current, plaintext);
  }

  decrypt(token: string): Buffer {
    const parsed = parseToken(token);
    // No clock-skew check here: the keyring opens tokens stored at rest, and a replica whose
    // clock runs behind the writer's must still read them (Python's Fernet also checks the
    // future bound only together with a TTL).
    const key = this.#keys.find((candidate) => verifies(candidate, parsed));
    if (!key) throw invalidToken('bad_mac');
    return open(key, parsed);
  }

  /** Whether the token is signed by the first key, i.e. needs no re-encryption after rotation. */
  isCurrent(token: string): boolean {
    try {
      return verifies(this.#current, parseToken(token));
    } catch (error) {
      if (error instanceof FernetError) return false;
      throw error;
    }
  }
}

interface ParsedToken {
  timestamp: number;
  iv: Buffer;
  ciphertext: Buffer;
  /** Version ‖ Timestamp ‖ IV ‖ Ciphertext: the HMAC input. */
  signed: Buffer;
  mac: Buffer;
}

function parseToken(token: string): ParsedToken {
  const data = decodeStrict(token);
  if (!data) throw invalidToken('bad_encoding');
  if (data.length < HEADER_BYTES + MAC_BYTES) throw invalidToken('too_short');
  if (data[0] !== VERSION) throw invalidToken('bad_version');
  const signed = data.subarray(0, data.length - MAC_BYTES);
  const ciphertext = signed.subarray(HEADER_BYTES);
  // PKCS #7 always adds at least one byte, so an empty ciphertext is malformed too.
  if (ciphertext.length === 0 || ciphertext.length % BLOCK_BYTES !== 0) {
    throw invalidToken('bad_length');
  }
  return {
    // Above 2^53 the number rounds, which still compares as far in the future.
    timestamp: Number(data.readBigUInt64BE(1)),
    iv: data.subarray(9, HEADER_BYTES),
    ciphertext,
    signed,
    mac: data.subarray(data.length - MAC_BYTES),
  };
}

function checkTimestamp(timestamp: number, opts: DecryptOptions): void {
  const now = Math.floor(opts.now ?? Date.now() / 1000);
  if (timestamp > now + MAX_CLOCK_SKEW_SEC) throw invalidToken('clock_skew');
  if (opts.ttlSec !== undefined && timestamp + opts.ttlSec < now) throw invalidToken('expired');
}

function verifies(key: FernetKey, token: ParsedToken): boolean {
  const expected = createHmac('sha256', materialOf(key).signing).update(token.signed).digest();
  // Constant time, so response timing does not reveal how much of a forged MAC was right.
  return timingSafeEqual(expected, token.mac);
}

/** Callers verify the HMAC first: unpadding unauthenticated data would be a padding oracle. */
function open(key: FernetKey, token: ParsedToken): Buffer {
  const decipher = createDecipheriv('aes-128-cbc', materialOf(key).encryption, token.iv);
  try {
    return Buffer.concat([decipher.update(token.ciphertext), decipher.final()]);
  } catch {
    throw invalidToken('bad_padding');
  }
}

const URL_SAFE_ALPHABET = /^[A-Za-z0-9_-]*={0,2}$/;

/**
 * Node's decoder skips unknown characters and ignores stray bits, so the result is only accepted
 * when it encodes back to exactly the input: one token, one spelling.
 * @see https://www.rfc-editor.org/rfc/rfc4648#section-5
 */
function decodeStrict(text: string): Buffer | undefined {
  if (text.length % 4 !== 0 || !URL_SAFE_ALPHABET.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return encode(bytes) === text ? bytes : undefined;
}

/** base64url with padding, as the spec's keys and tokens (and Python's Fernet) are written. */
function encode(bytes: Buffer): string {
  const unpadded = bytes.toString('base64url');
  return unpadded.padEnd(Math.ceil(unpadded.length / 4) * 4, '=');
}
