/**
 * Length hiding. The plaintext is padded to one of a few bucket sizes before encryption, so the
 * server (and anyone who sees the ciphertext) learns only the bucket, not the length.
 *
 * Padding is ISO/IEC 7816-4 style: one 0x80 byte, then zeros up to the bucket. It needs no length
 * field and is unambiguous because the last non-zero byte is always the marker we added.
 * @see https://en.wikipedia.org/wiki/Padding_(cryptography)#ISO/IEC_7816-4
 */
import { base64UrlLength } from './base64url.js';

/** Text form of a sealed message: this prefix, then base64url(iv || ciphertext || tag). */
export const ENVELOPE_PREFIX = 'sn1.';
export const IV_BYTES = 12;
export const TAG_BYTES = 16;

/** The server's default `MAX_MESSAGE_BYTES`; the limit applies to the envelope text we send. */
export const DEFAULT_MAX_MESSAGE_BYTES = 65536;

/** Bucket sizes of the padded plaintext below the top bucket, in bytes. */
const SMALL_BUCKETS = [1024, 4096, 16384] as const;

const PADDING_MARKER = 0x80;

/** Length of the envelope text for a padded plaintext of `paddedBytes` bytes. */
export function envelopeLength(paddedBytes: number): number {
  return ENVELOPE_PREFIX.length + base64UrlLength(IV_BYTES + paddedBytes + TAG_BYTES);
}

/**
 * The top bucket: the largest padded plaintext whose envelope still fits the server's limit.
 * base64 turns 3 bytes into 4 characters, so the binary part may hold floor(3/4 of the room).
 */
export function topBucket(maxMessageBytes: number): number {
  const room = maxMessageBytes - ENVELOPE_PREFIX.length;
  return Math.floor((room * 3) / 4) - IV_BYTES - TAG_BYTES;
}

/** All bucket sizes for a server limit, ascending; the last one fills the limit exactly. */
export function bucketSizes(maxMessageBytes: number): number[] {
  const top = topBucket(maxMessageBytes);
  if (top < 2) {
    throw new RangeError('MAX_MESSAGE_BYTES is too small for an encrypted message');
  }
  return [...SMALL_BUCKETS.filter((size) => size < top), top];
}

/** The largest UTF-8 plaintext the page can seal under a server limit (one byte for the marker). */
export function maxPlaintextBytes(maxMessageBytes: number): number {
  return topBucket(maxMessageBytes) - 1;
}

export function pad(plaintext: Uint8Array, buckets: readonly number[]): Uint8Array<ArrayBuffer> {
  const size = buckets.find((bucket) => bucket >= plaintext.length + 1);
  if (size === undefined) {
    throw new RangeError('message too large');
  }
  const padded = new Uint8Array(size);
  padded.set(plaintext);
  padded[plaintext.length] = PADDING_MARKER;
  return padded;
}

export function unpad(padded: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) {
    end -= 1;
  }
  if (end < 0 || padded[end] !== PADDING_MARKER) {
    throw new Error('bad padding');
  }
  return padded.subarray(0, end);
}
