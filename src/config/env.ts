import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { FernetKey } from '../crypto/fernet.js';
import {
  ensureGeneratedSecrets,
  GeneratedSecretsError,
  readGeneratedSecrets,
  readSecret,
  type GeneratedSecretName,
} from './secret-sources.js';
import { MakeDirError } from '../storage/make-dir.js';

export const JWT_ISSUER = 'sealnote';
export const JWT_AUDIENCE = 'sealnote-api';
const MIN_JWT_SECRET_BYTES = 32;

export interface Config {
  production: boolean;
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  migrationDatabaseUrl: string | undefined;
  redisUrl: string | undefined;
  encryptionKeys: string[];
  jwtSecret: string;
  jwtTtl: number;
  corsOrigins: string[];
  maxMessageBytes: number;
  rateLimitMax: number;
  authRateLimitMax: number;
  createRateLimitMax: number;
  trustProxy: false | number | string[];
  tlsCertFile: string | undefined;
  tlsKeyFile: string | undefined;
  logLevel: string;
  purgeIntervalSeconds: number;
  /** Names of the secrets that were generated for development, never their values. */
  generatedSecrets: GeneratedSecretName[];
}

/** Every problem found in the environment, listed at once so one restart fixes them all. */
export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function integer(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  min: number,
  max: number,
  problems: string[],
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    problems.push(`${name} must be a whole number from ${min} to ${max}`);
    return fallback;
  }
  return Number(raw);
}

/** An origin is scheme://host[:port] and nothing else: no wildcard, path, or trailing slash. */
function parseOrigins(raw: string | undefined, problems: string[], production: boolean): string[] {
  if (raw === undefined || raw.trim() === '') return [];
  const origins: string[] = [];
  for (const item of raw.split(',').map((s) => s.trim())) {
    if (item.includes('*')) {
      problems.push('CORS_ORIGINS must list exact origins; a wildcard is not allowed');
      continue;
    }
    let url: URL;
    try {
      url = new URL(item);
    } catch {
      problems.push(`CORS_ORIGINS: "${item}" is not an origin such as https://example.org`);
      continue;
    }
    if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.origin !== item) {
      problems.push(`CORS_ORIGINS: "${item}" is not an origin such as https://example.org`);
      continue;
    }
    if (production && url.protocol !== 'https:') {
      problems.push(`CORS_ORIGINS: "${item}" must be https in production`);
      continue;
    }
    origins.push(url.origin);
  }
  return origins;
}

function parseTrustProxy(raw: string | undefined, problems: string[]): false | number | string[] {
  if (raw === undefined || raw.trim() === '') return false;
  if (/^\d+$/.test(raw.trim())) return Number(raw.trim());
  const items = raw.split(',').map((s) => s.trim());
  const valid = items.every((item) => {
    const [address, bits, ...rest] = item.split('/');
    if (rest.length > 0 || address === undefined || isIP(address) === 0) return false;
    return bits === undefined || /^\d{1,3}$/.test(bits);
  });
  if (!valid) {
    problems.push(
      'TRUST_PROXY must be a number of proxy hops or a comma-separated list of proxy addresses',
    );
    return false;
  }
  return items;
}

function parseKeys(raw: string | undefined, problems: string[]): string[] {
  if (raw === undefined) return [];
  const keys = raw.split(',').map((s) => s.trim());
  keys.forEach((key, index) => {
    try {
      FernetKey.parse(key);
    } catch {
      problems.push(
        `ENCRYPTION_KEYS: key ${index + 1} is not a Fernet key (32 bytes, url-safe base64)`,
      );
    }
  });
  return keys;
}

function isReadableFile(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function guard<T>(read: () => T, problems: string[]): T | undefined {
  try {
    return read();
  } catch (err) {
    if (!(err instanceof GeneratedSecretsError || err instanceof MakeDirError)) throw err;
    problems.push(err.message);
    return undefined;
  }
}

/**
 * Reads and checks the whole environment. Outside production, missing secrets are generated
 * once into DATA_DIR. In production nothing is generated and weak settings are refused.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const production = env.NODE_ENV === 'production';
  const dataDir = resolve(
    env.DATA_DIR !== undefined && env.DATA_DIR !== '' ? env.DATA_DIR : './data',
  );
  if (existsSync(dataDir) && !statSync(dataDir).isDirectory()) {
    problems.push('DATA_DIR names a file, not a directory');
  }

  const port = integer(env, 'PORT', 8000, 0, 65535, problems);
  const host = env.HOST !== undefined && env.HOST !== '' ? env.HOST : '127.0.0.1';

  let jwtSecret = readSecret(env, 'JWT_SECRET', problems);
  let keysRaw = readSecret(env, 'ENCRYPTION_KEYS', problems);
  const databaseUrl = readSecret(env, 'DATABASE_URL', problems);
  const migrationDatabaseUrl = readSecret(env, 'MIGRATION_DATABASE_URL', problems) ?? databaseUrl;
  const redisUrl = readSecret(env, 'REDIS_URL', problems);

  const generatedSecrets: GeneratedSecretName[] = [];
  if (production) {
    const generated = guard(() => readGeneratedSecrets(dataDir), problems) ?? {};
    if (jwtSecret === undefined)
      problems.push('JWT_SECRET (or JWT_SECRET_FILE) is required in production');
    else if (jwtSecret === generated.JWT_SECRET) {
      problems.push('JWT_SECRET is a generated development secret; production needs its own');
    }
    if (keysRaw === undefined) {
      problems.push('ENCRYPTION_KEYS (or ENCRYPTION_KEYS_FILE) is required in production');
    } else if (
      generated.ENCRYPTION_KEYS !== undefined &&
      keysRaw.split(',')[0]?.trim() === generated.ENCRYPTION_KEYS
    ) {
      // A generated key may stay behind the first one, to read development data while
      // `npm run keys:rotate` moves it under the production key.
      problems.push(
        'ENCRYPTION_KEYS starts with a generated development key; production needs its own first',
      );
    }
  } else {
    const missing: GeneratedSecretName[] = [];
    if (jwtSecret === undefined) missing.push('JWT_SECRET');
    if (keysRaw === undefined) missing.push('ENCRYPTION_KEYS');
    if (missing.length > 0 && problems.length === 0) {
      const generated = guard(() => ensureGeneratedSecrets(dataDir, missing), problems) ?? {};
      jwtSecret ??= generated.JWT_SECRET;
      keysRaw ??= generated.ENCRYPTION_KEYS;
      if (jwtSecret === undefined || keysRaw === undefined) {
        problems.push('Could not generate development secrets in DATA_DIR');
      }
      generatedSecrets.push(...missing);
    }
  }

  if (jwtSecret !== undefined && Buffer.byteLength(jwtSecret, 'utf8') < MIN_JWT_SECRET_BYTES) {
    problems.push(`JWT_SECRET must be at least ${MIN_JWT_SECRET_BYTES} bytes`);
  } else if (production && jwtSecret !== undefined && new Set(jwtSecret).size < 16) {
    // A random secret of 32+ characters has far more distinct characters than this; a
    // placeholder such as "changeme" repeated, or one letter 32 times, has fewer.
    problems.push('JWT_SECRET looks like a placeholder, not a random value; generate one');
  }
  const encryptionKeys = parseKeys(keysRaw, problems);

  for (const [name, url] of [
    ['DATABASE_URL', databaseUrl],
    ['MIGRATION_DATABASE_URL', migrationDatabaseUrl],
  ] as const) {
    if (url !== undefined && !/^postgres(ql)?:\/\//.test(url)) {
      problems.push(`${name} must be a postgres:// or postgresql:// URL`);
    }
  }
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    problems.push('REDIS_URL must be a redis:// or rediss:// URL');
  }

  const tlsCertFile = env.TLS_CERT_FILE === '' ? undefined : env.TLS_CERT_FILE;
  const tlsKeyFile = env.TLS_KEY_FILE === '' ? undefined : env.TLS_KEY_FILE;
  if ((tlsCertFile === undefined) !== (tlsKeyFile === undefined)) {
    problems.push('TLS_CERT_FILE and TLS_KEY_FILE must be set together');
  }
  for (const [name, path] of [
    ['TLS_CERT_FILE', tlsCertFile],
    ['TLS_KEY_FILE', tlsKeyFile],
  ] as const) {
    if (path !== undefined && !isReadableFile(path)) {
      problems.push(`${name}: cannot read the file it names`);
    }
  }

  const logLevel = env.LOG_LEVEL !== undefined && env.LOG_LEVEL !== '' ? env.LOG_LEVEL : 'info';
  if (!LOG_LEVELS.includes(logLevel))
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);

  const config: Config = {
    production,
    port,
    host,
    dataDir,
    databaseUrl,
    migrationDatabaseUrl,
    redisUrl,
    encryptionKeys,
    jwtSecret: jwtSecret ?? '',
    jwtTtl: integer(env, 'JWT_TTL', 900, 60, 86_400, problems),
    corsOrigins: parseOrigins(env.CORS_ORIGINS, problems, production),
    maxMessageBytes: integer(env, 'MAX_MESSAGE_BYTES', 65_536, 1, 1_048_576, problems),
    rateLimitMax: integer(env, 'RATE_LIMIT_MAX', 120, 1, 1_000_000, problems),
    authRateLimitMax: integer(env, 'AUTH_RATE_LIMIT_MAX', 10, 1, 1_000_000, problems),
    createRateLimitMax: integer(env, 'CREATE_RATE_LIMIT_MAX', 30, 1, 1_000_000, problems),
    trustProxy: parseTrustProxy(env.TRUST_PROXY, problems),
    tlsCertFile,
    tlsKeyFile,
    logLevel,
    purgeIntervalSeconds: integer(env, 'PURGE_INTERVAL_SECONDS', 60, 1, 86_400, problems),
    generatedSecrets,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
