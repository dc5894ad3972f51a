/**
 * The page's end-to-end crypto and padding, run in Node (same WebCrypto API as the browser).
 */
import { describe, expect, it } from 'vitest';
import { decodeBase64Url, encodeBase64Url } from '../../web/src/base64url.js';
import {
  DecryptError,
  FragmentError,
  PBKDF2_ITERATIONS,
  decryptText,
  deriveSecrets,
  encryptText,
  formatFragment,
  newLinkKey,
  parseFragment,
  sealMessage,
} from '../../web/src/e2e-crypto.js';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  bucketSizes,
  envelopeLength,
  maxPlaintextBytes,
  pad,
  topBucket,
  unpad,
} from '../../web/src/padding.js';

const utf8 = (text: string) => new TextEncoder().encode(text).length;

describe('base64url', () => {
  it('round-trips every byte value without padding characters', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const text = encodeBase64Url(bytes);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeBase64Url(text)).toEqual(bytes);
  });

  it('refuses text outside the alphabet', () => {
    expect(() => decodeBase64Url('ab+c')).toThrow();
    expect(() => decodeBase64Url('abcde')).toThrow();
  });
});

describe('padding', () => {
  it('pads to the smallest bucket that fits the marker and strips it again', () => {
    const buckets = bucketSizes(DEFAULT_MAX_MESSAGE_BYTES);
    for (const length of [0, 1, 1023, 1024, 4095, 5000, 16383, 20000]) {
      const plain = new Uint8Array(length).fill(0x41);
      const padded = pad(plain, buckets);
      expect(padded.length).toBe(buckets.find((b) => b >= length + 1));
      expect(unpad(padded)).toEqual(plain);
    }
  });

  it('keeps trailing zero bytes of the plaintext', () => {
    const plain = Uint8Array.from([0x61, 0, 0]);
    expect(unpad(pad(plain, [16]))).toEqual(plain);
  });

  it('uses four buckets under the default limit, the last filling it exactly', () => {
    const buckets = bucketSizes(DEFAULT_MAX_MESSAGE_BYTES);
    expect(buckets).toEqual([1024, 4096, 16384, topBucket(DEFAULT_MAX_MESSAGE_BYTES)]);
    const top = buckets.at(-1) ?? 0;
    expect(envelopeLength(top)).toBeLessThanOrEqual(DEFAULT_MAX_MESSAGE_BYTES);
    expect(envelopeLength(top + 1)).toBeGreaterThan(DEFAULT_MAX_MESSAGE_BYTES);
    expect(maxPlaintextBytes(DEFAULT_MAX_MESSAGE_BYTES)).toBe(49120);
  });

  it('drops buckets above a small server limit', () => {
    expect(bucketSizes(2000)).toEqual([1024, topBucket(2000)]);
    expect(bucketSizes(1000)).toEqual([topBucket(1000)]);
  });

  it('refuses a plaintext larger than the top bucket and malformed padding', () => {
    expect(() => pad(new Uint8Array(16), [16])).toThrow(RangeError);
    expect(() => unpad(new Uint8Array(8))).toThrow();
    expect(() => unpad(Uint8Array.from([1, 2, 0]))).toThrow();
  });
});

describe('link fragment', () => {
  it('round-trips a key with and without the passphrase flag', () => {
    for (const passphrase of [false, true]) {
      const linkKey = newLinkKey(passphrase);
      const fragment = formatFragment(linkKey);
      expect(fragment).toMatch(passphrase ? /^v1p\.[A-Za-z0-9_-]{43}$/ : /^v1\.[A-Za-z0-9_-]{43}$/);
      expect(parseFragment(`#${fragment}`)).toEqual(linkKey);
    }
  });

  it('reads an empty fragment as a plain-text link and refuses damaged ones', () => {
    expect(parseFragment('')).toBeNull();
    expect(parseFragment('#')).toBeNull();
    expect(() => parseFragment('#v1.short')).toThrow(FragmentError);
    expect(() => parseFragment('#v2.' + 'A'.repeat(43))).toThrow(FragmentError);
  });

  it('makes a fresh 256-bit key for every message', () => {
    const keys = new Set(Array.from({ length: 50 }, () => formatFragment(newLinkKey(false))));
    expect(keys.size).toBe(50);
  });
});

describe('sealing and opening', () => {
  const samples = [
    'hello',
    'emoji 🔐🙂👩🏽‍💻 and flags 🇫🇷',
    'עברית: שלום עולם، والعربية: مرحبا بالعالم',
    '<script>alert(1)</script>',
    'line one\nline two\r\n\ttab\u0000nul',
  ];

  it('round-trips text identically and hides it from the envelope', async () => {
    for (const text of samples) {
      const sealed = await sealMessage(text, { maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES });
      expect(sealed.envelope.startsWith('sn1.')).toBe(true);
      expect(sealed.envelope).not.toContain(text);
      expect(sealed.verifier).toBeUndefined();
      const linkKey = parseFragment(sealed.fragment);
      expect(linkKey).not.toBeNull();
      if (!linkKey) return;
      expect(sealed.envelope).not.toContain(sealed.fragment.slice(3));
      expect(await decryptText(sealed.envelope, await deriveSecrets(linkKey))).toBe(text);
    }
  });

  it('gives every length in a bucket the same envelope length', async () => {
    const short = await sealMessage('a', { maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES });
    const longer = await sealMessage('a'.repeat(1000), {
      maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
    });
    expect(short.envelope.length).toBe(longer.envelope.length);
    expect(short.envelope.length).toBe(envelopeLength(1024));
  });

  it('fits a plaintext of exactly the page limit into the server limit, and no more', async () => {
    const limit = maxPlaintextBytes(DEFAULT_MAX_MESSAGE_BYTES);
    // Multi-byte characters up to the limit: 4-byte emoji, then ASCII to fill exactly.
    const text = '🔐'.repeat(1000) + 'x'.repeat(limit - 4000);
    expect(utf8(text)).toBe(limit);
    const sealed = await sealMessage(text, { maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES });
    expect(utf8(sealed.envelope)).toBeLessThanOrEqual(DEFAULT_MAX_MESSAGE_BYTES);
    const linkKey = parseFragment(sealed.fragment);
    if (!linkKey) throw new Error('no key');
    expect(await decryptText(sealed.envelope, await deriveSecrets(linkKey))).toBe(text);
    await expect(
      sealMessage(`${text}x`, { maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES }),
    ).rejects.toThrow(RangeError);
  });

  it('refuses a tampered envelope or a different key', async () => {
    const sealed = await sealMessage('secret', { maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES });
    const linkKey = parseFragment(sealed.fragment);
    if (!linkKey) throw new Error('no key');
    const secrets = await deriveSecrets(linkKey);
    const flipped =
      sealed.envelope.slice(0, 20) +
      (sealed.envelope[20] === 'A' ? 'B' : 'A') +
      sealed.envelope.slice(21);
    await expect(decryptText(flipped, secrets)).rejects.toThrow(DecryptError);
    await expect(decryptText('plain text', secrets)).rejects.toThrow(DecryptError);
    await expect(
      decryptText(sealed.envelope, await deriveSecrets(newLinkKey(false))),
    ).rejects.toThrow(DecryptError);
  });
});

describe('passphrases', () => {
  it('uses PBKDF2 with at least 600,000 iterations', () => {
    expect(PBKDF2_ITERATIONS).toBeGreaterThanOrEqual(600_000);
  });

  it('sends a verifier that is neither the passphrase nor the key, and needs both to open', async () => {
    const passphrase = 'correct horse battery staple';
    const sealed = await sealMessage('protected', {
      passphrase,
      maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
    });
    const linkKey = parseFragment(sealed.fragment);
    if (!linkKey) throw new Error('no key');
    expect(linkKey.passphrase).toBe(true);
    expect(sealed.verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(sealed.verifier).not.toContain(passphrase);
    expect(sealed.verifier).not.toBe(sealed.fragment.slice(4));

    const right = await deriveSecrets(linkKey, passphrase);
    expect(right.verifier).toBe(sealed.verifier);
    expect(await decryptText(sealed.envelope, right)).toBe('protected');

    const wrong = await deriveSecrets(linkKey, 'wrong horse');
    expect(wrong.verifier).not.toBe(sealed.verifier);
    await expect(decryptText(sealed.envelope, wrong)).rejects.toThrow(DecryptError);
    // Without the passphrase mixed in, the key from the link alone does not open it.
    await expect(
      decryptText(sealed.envelope, await deriveSecrets({ ...linkKey, passphrase: false })),
    ).rejects.toThrow(DecryptError);
  });

  it('derives a different verifier for the same passphrase under another key', async () => {
    const a = await deriveSecrets(newLinkKey(true), 'same');
    const b = await deriveSecrets(newLinkKey(true), 'same');
    expect(a.verifier).not.toBe(b.verifier);
  });

  it('treats NFC and NFD spellings of a passphrase alike', async () => {
    const linkKey = newLinkKey(true);
    const composed = await deriveSecrets(linkKey, 'caf\u00e9');
    const decomposed = await deriveSecrets(linkKey, 'cafe\u0301');
    expect(composed.verifier).toBe(decomposed.verifier);
  });
});

describe('encryptText', () => {
  it('uses a fresh IV each time', async () => {
    const secrets = await deriveSecrets(newLinkKey(false));
    const a = await encryptText('same', secrets, [64]);
    const b = await encryptText('same', secrets, [64]);
    expect(a).not.toBe(b);
  });
});
