import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  linkSync,
  mkdirSync,
  readFileSync,
  statSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { FernetKey } from '../crypto/fernet.js';

/** The variables that hold secrets; each may instead be given as NAME_FILE. */
export const SECRET_NAMES = [
  'JWT_SECRET',
  'ENCRYPTION_KEYS',
  'DATABASE_URL',
  'MIGRATION_DATABASE_URL',
  'REDIS_URL',
] as const;
export type SecretName = (typeof SECRET_NAMES)[number];

/** Secrets Sealnote can make for itself outside production. */
export type GeneratedSecretName = 'JWT_SECRET' | 'ENCRYPTION_KEYS';

export const GENERATED_SECRETS_FILE = 'generated-secrets.json';

/**
 * Reads NAME or NAME_FILE (Docker and Kubernetes secrets, Vault agent files). Giving both is an
 * error, because it is ambiguous which one an operator meant. Trailing newlines of files are
 * dropped: editors and `echo` add them.
 */
export function readSecret(
  env: NodeJS.ProcessEnv,
  name: SecretName,
  problems: string[],
): string | undefined {
  const direct = env[name];
  const file = env[`${name}_FILE`];
  if (direct !== undefined && direct !== '' && file !== undefined && file !== '') {
    problems.push(`${name} and ${name}_FILE are both set; set only one`);
    return undefined;
  }
  if (file !== undefined && file !== '') {
    try {
      return readFileSync(file, 'utf8').replace(/[\r\n]+$/, '');
    } catch {
      problems.push(`${name}_FILE: cannot read the file it names`);
      return undefined;
    }
  }
  return direct === '' ? undefined : direct;
}

type GeneratedSecrets = Partial<Record<GeneratedSecretName, string>>;

export class GeneratedSecretsError extends Error {}

/**
 * The secrets generated earlier, or {} when there are none. A file that exists but does not
 * parse is an error, never a reason to make new secrets: that would lose every message.
 */
export function readGeneratedSecrets(dataDir: string): GeneratedSecrets {
  const path = join(dataDir, GENERATED_SECRETS_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return {};
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object');
    const out: GeneratedSecrets = {};
    for (const name of ['JWT_SECRET', 'ENCRYPTION_KEYS'] as const) {
      const value = (parsed as Record<string, unknown>)[name];
      if (typeof value === 'string') out[name] = value;
    }
    return out;
  } catch {
    throw new GeneratedSecretsError(
      `${path} is damaged; restore it from a backup, or delete it to start afresh (old ` +
        'messages then become unreadable)',
    );
  }
}

/**
 * Development only: makes the missing secrets once and keeps them in DATA_DIR (mode 0600), so
 * that a restart still reads old messages and honours issued tokens.
 */
export function ensureGeneratedSecrets(
  dataDir: string,
  missing: GeneratedSecretName[],
): GeneratedSecrets {
  const current = readGeneratedSecrets(dataDir);
  const hadFile = Object.keys(current).length > 0;
  let changed = false;
  for (const name of missing) {
    if (current[name] !== undefined) continue;
    current[name] =
      name === 'JWT_SECRET' ? randomBytes(48).toString('base64url') : FernetKey.generate();
    changed = true;
  }
  if (changed) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const path = join(dataDir, GENERATED_SECRETS_FILE);
    // Written whole under a temporary name, then linked into place only if no other process
    // got there first; the loser reads the winner's secrets, so both use the same ones.
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(current, null, 2) + '\n', { mode: 0o600 });
    chmodSync(temporary, 0o600);
    try {
      if (hadFile) renameSync(temporary, path);
      else linkSync(temporary, path);
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'EEXIST') throw err;
      return readGeneratedSecrets(dataDir);
    } finally {
      rmSync(temporary, { force: true });
    }
  }
  return current;
}

export function isPrivateFile(path: string): boolean {
  try {
    return (statSync(path).mode & 0o077) === 0;
  } catch {
    return false;
  }
}
