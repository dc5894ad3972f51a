/**
 * End-to-end encryption of a message in the browser (WebCrypto only, no other dependency, so the
 * same module runs in Node for the unit tests).
 *
 * Scheme "v1":
 * - K: 32 fresh random bytes per message. It travels only in the link fragment, which browsers
 *   never send to a server.
 * - Without a passphrase: IKM = K.
 * - With a passphrase: S = HKDF(K, "sealnote/v1/pbkdf2-salt"), P = PBKDF2-SHA256(NFC(passphrase),
 *   S, 600,000 iterations, 32 bytes), IKM = K || P.
 * - From IKM with HKDF-SHA256 (salt "sealnote/v1"): the AES-256-GCM key (info
 *   "sealnote/v1/aes-256-gcm") and, with a passphrase, a 32-byte verifier (info
 *   "sealnote/v1/passphrase-verifier"). The verifier, not the passphrase, is what the server gets
 *   as `passphrase`: it gates the reveal, yet without K it tells nothing about the passphrase, and
 *   without the passphrase it cannot be computed from the link.
 * - Envelope: "sn1." + base64url(iv || AES-GCM(padded plaintext, aad "sealnote/v1")).
 * @see https://www.rfc-editor.org/rfc/rfc5869 (HKDF)
 * @see https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html#pbkdf2
 */
import { decodeBase64Url, encodeBase64Url } from './base64url.js';
import { ENVELOPE_PREFIX, IV_BYTES, TAG_BYTES, bucketSizes, pad, unpad } from './padding.js';

export const PBKDF2_ITERATIONS = 600_000;
const KEY_BYTES = 32;
const FRAGMENT_PATTERN = /^v1(p?)\.([A-Za-z0-9_-]{43})$/;
const HKDF_SALT = 'sealnote/v1';
const AAD = 'sealnote/v1';

const encoder = new TextEncoder();

/** What the link fragment carries: the message key and whether a passphrase is mixed in. */
export interface LinkKey {
  readonly key: Uint8Array<ArrayBuffer>;
  readonly passphrase: boolean;
}

/** WebCrypto's CryptoKey, named so that this module also type-checks with Node's types. */
type AesKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

export interface DerivedSecrets {
  readonly aesKey: AesKey;
  /** base64url verifier to send as `passphrase`; undefined when there is no passphrase. */
  readonly verifier: string | undefined;
}

export interface SealedMessage {
  /** The text to send as `message`. */
  readonly envelope: string;
  /** The link fragment, without '#'. */
  readonly fragment: string;
  readonly verifier: string | undefined;
}

export class FragmentError extends Error {
  constructor() {
    super('The key in this link is damaged or incomplete.');
    this.name = 'FragmentError';
  }
}

export class DecryptError extends Error {
  constructor() {
    super('The message could not be decrypted with the key in this link.');
    this.name = 'DecryptError';
  }
}

export function newLinkKey(passphrase: boolean): LinkKey {
  return { key: crypto.getRandomValues(new Uint8Array(KEY_BYTES)), passphrase };
}

export function formatFragment(linkKey: LinkKey): string {
  return `v1${linkKey.passphrase ? 'p' : ''}.${encodeBase64Url(linkKey.key)}`;
}

/** Reads a fragment (with or without '#'). Empty means a plain-text link: null. */
export function parseFragment(fragment: string): LinkKey | null {
  const text = fragment.startsWith('#') ? fragment.slice(1) : fragment;
  if (text === '') {
    return null;
  }
  const match = FRAGMENT_PATTERN.exec(text);
  if (!match?.[2]) {
    throw new FragmentError();
  }
  const key = decodeBase64Url(match[2]);
  if (key.length !== KEY_BYTES) {
    throw new FragmentError();
  }
  return { key, passphrase: match[1] === 'p' };
}

export function isEnvelope(text: string): boolean {
  return text.startsWith(ENVELOPE_PREFIX);
}

async function hkdfBits(ikm: Uint8Array<ArrayBuffer>, info: string, bytes: number) {
  const base = await crypto.subtle.importKey('raw', ikm, 'HKDF', false, ['deriveBits']);
  const params = {
    name: 'HKDF',
    hash: 'SHA-256',
    salt: encoder.encode(HKDF_SALT),
    info: encoder.encode(info),
  };
  return new Uint8Array(await crypto.subtle.deriveBits(params, base, bytes * 8));
}

async function stretchPassphrase(key: Uint8Array<ArrayBuffer>, passphrase: string) {
  const salt = await hkdfBits(key, 'sealnote/v1/pbkdf2-salt', 16);
  const secret = encoder.encode(passphrase.normalize('NFC'));
  const base = await crypto.subtle.importKey('raw', secret, 'PBKDF2', false, ['deriveBits']);
  const params = { name: 'PBKDF2', hash: 'SHA-256', salt, iterations: PBKDF2_ITERATIONS };
  return new Uint8Array(await crypto.subtle.deriveBits(params, base, KEY_BYTES * 8));
}

/**
 * Derives the content key and, for a passphrase link, the verifier. The passphrase is required
 * exactly when the link says so; this costs one PBKDF2 run, so callers derive once per attempt.
 */
export async function deriveSecrets(
  linkKey: LinkKey,
  passphrase?: string,
): Promise<DerivedSecrets> {
  if (linkKey.passphrase !== (passphrase !== undefined)) {
    throw new TypeError('a passphrase link needs a passphrase, and only then');
  }
  let ikm = linkKey.key;
  if (passphrase !== undefined) {
    ikm = new Uint8Array(KEY_BYTES * 2);
    ikm.set(linkKey.key);
    ikm.set(await stretchPassphrase(linkKey.key, passphrase), KEY_BYTES);
  }
  const aesBytes = await hkdfBits(ikm, 'sealnote/v1/aes-256-gcm', KEY_BYTES);
  const aesKey = await crypto.subtle.importKey('raw', aesBytes, 'AES-GCM', false, [
    'encrypt',
    'decrypt',
  ]);
  const verifier =
    passphrase === undefined
      ? undefined
      : encodeBase64Url(await hkdfBits(ikm, 'sealnote/v1/passphrase-verifier', KEY_BYTES));
  return { aesKey, verifier };
}

export async function encryptText(
  text: string,
  secrets: DerivedSecrets,
  buckets: readonly number[],
): Promise<string> {
  const padded = pad(encoder.encode(text), buckets);
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const params = { name: 'AES-GCM', iv, additionalData: encoder.encode(AAD) };
  const sealed = new Uint8Array(await crypto.subtle.encrypt(params, secrets.aesKey, padded));
  const body = new Uint8Array(IV_BYTES + sealed.length);
  body.set(iv);
  body.set(sealed, IV_BYTES);
  return ENVELOPE_PREFIX + encodeBase64Url(body);
}

export async function decryptText(envelope: string, secrets: DerivedSecrets): Promise<string> {
  if (!isEnvelope(envelope)) {
    throw new DecryptError();
  }
  let body: Uint8Array<ArrayBuffer>;
  try {
    body = decodeBase64Url(envelope.slice(ENVELOPE_PREFIX.length));
  } catch {
    throw new DecryptError();
  }
  if (body.length < IV_BYTES + TAG_BYTES + 1) {
    throw new DecryptError();
  }
  const params = {
    name: 'AES-GCM',
    iv: body.subarray(0, IV_BYTES),
    additionalData: encoder.encode(AAD),
  };
  try {
    const padded = await crypto.subtle.decrypt(params, secrets.aesKey, body.subarray(IV_BYTES));
    return new TextDecoder('utf-8', { fatal: true }).decode(unpad(new Uint8Array(padded)));
  } catch {
    throw new DecryptError();
  }
}

/** Encrypts a message under a fresh key; the fragment and envelope together make it readable. */
export async function sealMessage(
  text: string,
  options: { passphrase?: string | undefined; maxMessageBytes: number },
): Promise<SealedMessage> {
  const linkKey = newLinkKey(options.passphrase !== undefined);
  const secrets = await deriveSecrets(linkKey, options.passphrase);
  const envelope = await encryptText(text, secrets, bucketSizes(options.maxMessageBytes));
  return { envelope, fragment: formatFragment(linkKey), verifier: secrets.verifier };
}
