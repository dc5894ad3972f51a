import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  readFileSync,
  statSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { FernetKey } from '../crypto/fernet.js';
import { makeDir } from '../storage/make-dir.js';

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

const LOCK_STALE_MS = 10_000;
const LOCK_WAIT_MS = 15_000;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Runs `work` while holding a lock directory beside the secrets file, so that processes
 * sharing DATA_DIR (replicas, a migrate job) generate the secrets once, together. Start-up
 * is synchronous, so this waits synchronously; a lock older than 10 s is a crashed holder's.
 */
function withSecretsLock<T>(dataDir: string, work: () => T): T {
  const lock = join(dataDir, `${GENERATED_SECRETS_FILE}.lock`);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'EEXIST') throw err;
      try {
        if (Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS) {
          // Renamed first: only one waiter can claim a stale lock, so a fresh lock taken
          // meanwhile by another process is never the one removed.
          const claimed = `${lock}.stale.${randomBytes(4).toString('hex')}`;
          renameSync(lock, claimed);
          rmSync(claimed, { recursive: true, force: true });
        }
      } catch {
        // Released meanwhile: try again.
      }
      if (Date.now() > deadline) {
        throw new GeneratedSecretsError(`${lock} is held by another process; try again`);
      }
      sleepSync(20 + Math.floor(Math.random() * 30));
    }
  }
  try {
    return work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Development only: makes the missing secrets once and keeps them in DATA_DIR (mode 0600), so
 * that a restart still reads old messages and honours issued tokens. What is returned is
 * always what is on disk.
 */
export function ensureGeneratedSecrets(
  dataDir: string,
  missing: GeneratedSecretName[],
): GeneratedSecrets {
  const present = readGeneratedSecrets(dataDir);
  if (missing.every((name) => present[name] !== undefined)) return present;

  makeDir(dataDir);
  return withSecretsLock(dataDir, () => {
    const current = readGeneratedSecrets(dataDir);
    if (missing.every((name) => current[name] !== undefined)) return current;
    for (const name of missing) {
      current[name] ??=
        name === 'JWT_SECRET' ? randomBytes(48).toString('base64url') : FernetKey.generate();
    }
    // Written whole under a fresh name, then renamed into place: a reader never sees half.
    const path = join(dataDir, GENERATED_SECRETS_FILE);
    const temporary = `${path}.${randomBytes(8).toString('hex')}.tmp`;
    try {
      writeFileSync(temporary, JSON.stringify(current, null, 2) + '\n', {
        mode: 0o600,
        flag: 'wx',
      });
      chmodSync(temporary, 0o600);
      renameSync(temporary, path);
    } finally {
      rmSync(temporary, { force: true });
    }
    return readGeneratedSecrets(dataDir);
  });
}
