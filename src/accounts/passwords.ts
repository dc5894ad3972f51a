import { hash, verify, type Options } from '@node-rs/argon2';

/**
 * Argon2id with the OWASP-recommended minimum (19 MiB, 2 passes). Argon2 takes the whole
 * input, so there is no 72-byte truncation as with bcrypt.
 * @see https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html
 */
const OPTIONS: Options = {
  // The algorithm is left at the library's default, Argon2id (a const enum that isolated
  // modules cannot name); the tests check that stored hashes start with $argon2id$.
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
};

/** Passwords compare after NFC so that the same text typed on two systems is the same secret. */
export function normalizeSecret(secret: string): string {
  return secret.normalize('NFC');
}

export async function hashSecret(secret: string): Promise<string> {
  return hash(normalizeSecret(secret), OPTIONS);
}

export async function verifySecret(encoded: string, secret: string): Promise<boolean> {
  try {
    return await verify(encoded, normalizeSecret(secret));
  } catch {
    return false;
  }
}

/** Code points, not UTF-16 units: an emoji is one character of a password. */
export function characterCount(text: string): number {
  return Array.from(text).length;
}
