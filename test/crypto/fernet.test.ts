import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';

import {
  decrypt,
  encrypt,
  FernetError,
  FernetKey,
  Keyring,
  type FernetErrorReason,
} from '../../src/crypto/fernet.js';

// The spec's vectors live in the shared folder that sits beside the repository clone.
const VECTORS_DIR = new URL('../../../shared/test-vectors/fernet/', import.meta.url);
if (!existsSync(VECTORS_DIR)) {
  throw new Error(`Fernet test vectors not found at ${fileURLToPath(VECTORS_DIR)}`);
}

function loadVectors<T>(name: string): T[] {
  const parsed: unknown = JSON.parse(readFileSync(new URL(name, VECTORS_DIR), 'utf8'));
  if (!Array.isArray(parsed) || parsed.length === 0) throw new Error(`${name} holds no vectors`);
  return parsed as T[];
}

interface GenerateVector {
  token: string;
  now: string;
  iv: number[];
  src: string;
  secret: string;
}
interface VerifyVector {
  token: string;
  now: string;
  ttl_sec: number;
  src: string;
  secret: string;
}
interface InvalidVector {
  desc: string;
  token: string;
  now: string;
  ttl_sec: number;
  secret: string;
}

const generateVectors = loadVectors<GenerateVector>('generate.json');
const verifyVectors = loadVectors<VerifyVector>('verify.json');
const invalidVectors = loadVectors<InvalidVector>('invalid.json');

/** Why each of the spec's invalid tokens must be refused. */
const EXPECTED_REASON: Record<string, FernetErrorReason> = {
  'incorrect mac': 'bad_mac',
  'too short': 'too_short',
  'invalid base64': 'bad_encoding',
  'payload size not multiple of block size': 'bad_length',
  'payload padding error': 'bad_padding',
  'far-future TS (unacceptable clock skew)': 'clock_skew',
  'expired TTL': 'expired',
  'incorrect IV (causes padding error)': 'bad_padding',
  'trailing characters after b64 padding': 'bad_encoding',
  'invalid characters in b64': 'bad_encoding',
  'invalid non-urlsafe characters in b64': 'bad_encoding',
};

const unixSeconds = (iso: string): number => Date.parse(iso) / 1000;
const newKey = (): FernetKey => FernetKey.parse(FernetKey.generate());
const base64UrlPadded = (bytes: Buffer): string =>
  bytes.toString('base64').replaceAll('+', '-').replaceAll('/', '_');

/** The FernetError reason a call fails with, or 'accepted' when it returns. */
function outcome(run: () => unknown): FernetErrorReason | 'accepted' {
  try {
    run();
  } catch (error) {
    if (error instanceof FernetError) return error.reason;
    throw error;
  }
  return 'accepted';
}

describe('Fernet spec vectors', () => {
  for (const vector of generateVectors) {
    it(`encrypts "${vector.src}" to the spec token at ${vector.now}`, () => {
      const key = FernetKey.parse(vector.secret);
      const token = encrypt(key, vector.src, {
        now: unixSeconds(vector.now),
        iv: Buffer.from(vector.iv),
      });
      expect(token).toBe(vector.token);
    });
  }

  for (const vector of verifyVectors) {
    it(`decrypts the spec token to "${vector.src}" at ${vector.now}`, () => {
      const key = FernetKey.parse(vector.secret);
      const plaintext = decrypt(key, vector.token, {
        ttlSec: vector.ttl_sec,
        now: unixSeconds(vector.now),
      });
      expect(plaintext.toString('utf8')).toBe(vector.src);
    });
  }

  it('has all eleven invalid vectors of the spec, each with a known reason', () => {
    expect(invalidVectors).toHaveLength(11);
    expect(invalidVectors.map((v) => v.desc).sort()).toEqual(Object.keys(EXPECTED_REASON).sort());
  });

  for (const vector of invalidVectors) {
    it(`refuses the invalid vector: ${vector.desc}`, () => {
      const key = FernetKey.parse(vector.secret);
      const opts = { ttlSec: vector.ttl_sec, now: unixSeconds(vector.now) };
      expect(outcome(() => decrypt(key, vector.token, opts))).toBe(EXPECTED_REASON[vector.desc]);
    });
  }
});

describe('FernetKey', () => {
  const zeroKey = 'A'.repeat(43) + '=';

  it('parses a canonical key and generates keys that parse', () => {
    expect(outcome(() => FernetKey.parse(zeroKey))).toBe('accepted');
    const generated = FernetKey.generate();
    expect(generated).toMatch(/^[A-Za-z0-9_-]{43}=$/);
    expect(generated).not.toBe(FernetKey.generate());
    expect(outcome(() => FernetKey.parse(generated))).toBe('accepted');
  });

  it.each([
    ['31 bytes', base64UrlPadded(randomBytes(31))],
    ['33 bytes', base64UrlPadded(randomBytes(33))],
    ['no padding', zeroKey.slice(0, -1)],
    ['the standard base64 alphabet', Buffer.alloc(32, 0xfb).toString('base64')],
    ['surrounding whitespace', ` ${zeroKey}\n`],
    ['non-zero unused bits (non-canonical)', 'A'.repeat(42) + 'B='],
    ['an empty string', ''],
  ])('refuses a key with %s', (_case, encoded) => {
    expect(outcome(() => FernetKey.parse(encoded))).toBe('invalid_key');
  });

  it('never reveals the key through inspect, JSON, string conversion or own properties', () => {
    const encoded = FernetKey.generate();
    const raw = Buffer.from(encoded, 'base64url');
    const key = FernetKey.parse(encoded);
    const outputs = [
      inspect(key, { showHidden: true }),
      inspect({ key }, { showHidden: true, depth: 10 }),
      JSON.stringify({ key }),
      String(key),
      key.toString(),
    ];
    expect(outputs).toEqual([
      '[FernetKey]',
      '{ key: [FernetKey] }',
      '{"key":"[FernetKey]"}',
      '[FernetKey]',
      '[FernetKey]',
    ]);
    expect(Reflect.ownKeys(key)).toEqual([]);
    const ring = new Keyring([encoded]);
    const ringOutput = inspect(ring, { showHidden: true, depth: 10 }) + JSON.stringify(ring);
    for (const half of [raw.subarray(0, 16), raw.subarray(16)]) {
      for (const output of [...outputs, ringOutput]) {
        expect(output).not.toContain(half.toString('hex'));
        expect(output).not.toContain(base64UrlPadded(half).slice(0, 20));
      }
    }
    expect(ringOutput).not.toContain(encoded);
  });
});

describe('encrypt and decrypt', () => {
  it('round-trips bytes and strings with a fresh IV per token', () => {
    const key = newKey();
    const first = encrypt(key, 'same text');
    const second = encrypt(key, Buffer.from('same text'));
    expect(first).not.toBe(second);
    const ivOf = (token: string) => Buffer.from(token, 'base64url').subarray(9, 25);
    expect(ivOf(first).equals(ivOf(second))).toBe(false);
    expect(decrypt(key, first).toString()).toBe('same text');
    expect(decrypt(key, second).toString()).toBe('same text');
  });

  it('never repeats an IV, across many refills of the IV pool', () => {
    const key = newKey();
    const ivs = new Set<string>();
    const count = 256 * 8 + 7; // several pool refills and a partial one
    for (let i = 0; i < count; i++) {
      ivs.add(Buffer.from(encrypt(key, 'x'), 'base64url').subarray(9, 25).toString('hex'));
    }
    expect(ivs.size).toBe(count);
  });

  it('refuses an IV that is not 16 bytes', () => {
    expect(() => encrypt(newKey(), 'x', { iv: Buffer.alloc(8) })).toThrow(RangeError);
  });

  it('accepts a token exactly ttlSec old and refuses it one second later', () => {
    const key = newKey();
    const token = encrypt(key, 'x', { now: 1_000_000 });
    expect(outcome(() => decrypt(key, token, { ttlSec: 60, now: 1_000_060 }))).toBe('accepted');
    expect(outcome(() => decrypt(key, token, { ttlSec: 60, now: 1_000_061 }))).toBe('expired');
  });

  it('ignores token age when no ttlSec is given', () => {
    const key = newKey();
    const token = encrypt(key, 'old', { now: 1 });
    expect(decrypt(key, token).toString()).toBe('old');
  });

  it('accepts 60 s of clock skew and refuses a token stamped further ahead', () => {
    const key = newKey();
    const token = encrypt(key, 'x', { now: 1_000_060 });
    expect(outcome(() => decrypt(key, token, { now: 1_000_000 }))).toBe('accepted');
    expect(outcome(() => decrypt(key, token, { now: 999_999 }))).toBe('clock_skew');
  });

  it('refuses a token with any single bit flipped, checking the HMAC before decrypting', () => {
    const key = newKey();
    const token = encrypt(key, 'a message that spans two blocks');
    expect(decrypt(key, token).toString()).toBe('a message that spans two blocks');
    // The spec checks the (public) timestamp before the HMAC, so a forged timestamp may also be
    // refused as clock skew; nothing may reach decryption ('bad_padding') or be accepted.
    const refusalsFor = (index: number): string[] =>
      index === 0 ? ['bad_version'] : index <= 8 ? ['bad_mac', 'clock_skew'] : ['bad_mac'];
    const bytes = Buffer.from(token, 'base64url');
    const wrong: string[] = [];
    for (let index = 0; index < bytes.length; index++) {
      for (let bit = 0; bit < 8; bit++) {
        const forged = Buffer.from(bytes);
        forged.writeUInt8(forged.readUInt8(index) ^ (1 << bit), index);
        const actual = outcome(() => decrypt(key, base64UrlPadded(forged)));
        if (!refusalsFor(index).includes(actual)) wrong.push(`byte ${index} bit ${bit}: ${actual}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('refuses a token with any single character replaced', () => {
    const key = newKey();
    const token = encrypt(key, 'hello');
    const accepted: number[] = [];
    for (let index = 0; index < token.length; index++) {
      const replacement = token[index] === 'A' ? 'B' : 'A';
      const forged = token.slice(0, index) + replacement + token.slice(index + 1);
      if (outcome(() => decrypt(key, forged)) === 'accepted') accepted.push(index);
    }
    expect(accepted).toEqual([]);
  });
});

describe('interoperability with Python cryptography', () => {
  const PYTHON_ENCRYPT = [
    'import base64, sys',
    'from cryptography.fernet import Fernet',
    'data = base64.b64decode(sys.stdin.read())',
    'sys.stdout.write(Fernet(sys.argv[1].encode()).encrypt(data).decode())',
  ].join('\n');
  const PYTHON_DECRYPT = [
    'import base64, sys',
    'from cryptography.fernet import Fernet',
    'data = Fernet(sys.argv[1].encode()).decrypt(sys.stdin.read().encode(), ttl=60)',
    'sys.stdout.write(base64.b64encode(data).decode())',
  ].join('\n');

  const python = (script: string, encodedKey: string, stdin: string): string =>
    execFileSync('python3', ['-c', script, encodedKey], { input: stdin, encoding: 'utf8' });

  const payloads: [string, Buffer][] = [
    ['text with emoji', Buffer.from('sealed 🔐 note, ünïcödé ✓', 'utf8')],
    ['text with NUL bytes', Buffer.from('a\0b\0\0c', 'utf8')],
    ['an empty string', Buffer.alloc(0)],
    ['a 64 KiB random payload', randomBytes(64 * 1024)],
  ];

  it.each(payloads)('decrypts a Python token holding %s', (_case, payload) => {
    const encodedKey = FernetKey.generate();
    const token = python(PYTHON_ENCRYPT, encodedKey, payload.toString('base64'));
    const plaintext = decrypt(FernetKey.parse(encodedKey), token, { ttlSec: 60 });
    expect(plaintext.equals(payload)).toBe(true);
  });

  it.each(payloads)('makes a token holding %s that Python decrypts', (_case, payload) => {
    const encodedKey = FernetKey.generate();
    const token = encrypt(FernetKey.parse(encodedKey), payload);
    const output = python(PYTHON_DECRYPT, encodedKey, token);
    expect(Buffer.from(output, 'base64').equals(payload)).toBe(true);
  });
});

describe('Keyring', () => {
  it('encrypts with the first key only', () => {
    const [first, second] = [FernetKey.generate(), FernetKey.generate()];
    const token = new Keyring([first, second]).encrypt('rotated');
    expect(decrypt(FernetKey.parse(first), token).toString()).toBe('rotated');
    expect(outcome(() => decrypt(FernetKey.parse(second), token))).toBe('bad_mac');
  });

  it('decrypts tokens made with any of its keys', () => {
    const encodedKeys = [FernetKey.generate(), FernetKey.generate(), FernetKey.generate()];
    const ring = new Keyring(encodedKeys);
    for (const [index, encoded] of encodedKeys.entries()) {
      const token = encrypt(FernetKey.parse(encoded), `made with key ${index + 1}`);
      expect(ring.decrypt(token).toString()).toBe(`made with key ${index + 1}`);
    }
  });

  it('tells whether a token is signed by the current key', () => {
    const [current, old] = [FernetKey.generate(), FernetKey.generate()];
    const ring = new Keyring([current, old]);
    expect(ring.isCurrent(ring.encrypt('new'))).toBe(true);
    expect(ring.isCurrent(encrypt(FernetKey.parse(old), 'old'))).toBe(false);
    expect(ring.isCurrent(encrypt(newKey(), 'foreign'))).toBe(false);
    expect(ring.isCurrent('not a token')).toBe(false);
  });

  it('refuses a token made with a key outside the ring', () => {
    const ring = new Keyring([FernetKey.generate(), FernetKey.generate()]);
    expect(outcome(() => ring.decrypt(encrypt(newKey(), 'stranger')))).toBe('bad_mac');
  });

  it('opens a stored token written by a replica whose clock runs ahead', () => {
    const encoded = FernetKey.generate();
    const token = encrypt(FernetKey.parse(encoded), 'x', {
      now: Math.floor(Date.now() / 1000) + 3600,
    });
    expect(new Keyring([encoded]).decrypt(token).toString()).toBe('x');
    // The one-key API still applies the spec's skew bound.
    expect(outcome(() => decrypt(FernetKey.parse(encoded), token))).toBe('clock_skew');
  });

  it('names the positions of malformed keys without their values', () => {
    const good = FernetKey.generate();
    const malformed = ['not-a-key', Buffer.alloc(32, 0xfb).toString('base64')];
    let error: unknown;
    try {
      new Keyring([good, malformed[0] ?? '', good, malformed[1] ?? '']);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(FernetError);
    const message = (error as FernetError).message;
    expect(message).toMatch(/position 2, 4\b/);
    for (const secret of [good, ...malformed]) expect(message).not.toContain(secret);
  });

  it('refuses an empty key list', () => {
    expect(outcome(() => new Keyring([]))).toBe('invalid_key');
  });

  it('reports how many keys it holds', () => {
    expect(new Keyring([FernetKey.generate()]).size).toBe(1);
    expect(new Keyring([FernetKey.generate(), FernetKey.generate()]).size).toBe(2);
  });
});
