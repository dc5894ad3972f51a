import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/env.js';
import { FernetKey } from '../../src/crypto/fernet.js';
import { testSecrets } from '../helpers/server.js';

const dir = () => mkdtempSync(join(tmpdir(), 'sealnote-config-'));

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('defaults', () => {
  it('follows the contract', () => {
    const config = loadConfig({ ...testSecrets(), DATA_DIR: dir() });
    expect(config).toMatchObject({
      port: 8000,
      host: '127.0.0.1',
      databaseUrl: undefined,
      redisUrl: undefined,
      jwtTtl: 900,
      corsOrigins: [],
      maxMessageBytes: 65_536,
      rateLimitMax: 120,
      authRateLimitMax: 10,
      trustProxy: false,
      logLevel: 'info',
      production: false,
    });
  });
});

describe('validation', () => {
  it('lists every problem at once', () => {
    const problems = problemsOf({
      DATA_DIR: dir(),
      PORT: 'eighty',
      JWT_SECRET: 'short',
      ENCRYPTION_KEYS: 'not-a-key',
      MAX_MESSAGE_BYTES: '-1',
      LOG_LEVEL: 'loud',
      CORS_ORIGINS: '*',
      DATABASE_URL: 'mysql://x',
      TRUST_PROXY: 'true',
    });
    expect(problems).toHaveLength(9);
    expect(problems.join('\n')).toMatch(/PORT/);
    expect(problems.join('\n')).toMatch(/JWT_SECRET must be at least 32 bytes/);
    expect(problems.join('\n')).toMatch(/ENCRYPTION_KEYS: key 1/);
  });

  it('never prints a secret value in a problem', () => {
    const jwt = 'short-secret-canary';
    const problems = problemsOf({
      DATA_DIR: dir(),
      JWT_SECRET: jwt,
      ENCRYPTION_KEYS: 'key-canary',
    });
    expect(problems.join('\n')).not.toContain('canary');
  });

  it.each([
    'https://app.example.org/',
    'https://app.example.org/path',
    'app.example.org',
    'null',
    'https://*.example.org',
    'ftp://app.example.org',
  ])('refuses the CORS origin %j', (origin) => {
    expect(problemsOf({ ...testSecrets(), DATA_DIR: dir(), CORS_ORIGINS: origin })).toHaveLength(1);
  });

  it('names a DATA_DIR that cannot be made instead of hanging or crashing', () => {
    // Under /proc, Node's recursive mkdir retries for ever; beneath a file it fails with ENOTDIR.
    const d = dir();
    writeFileSync(join(d, 'plain-file'), 'x');
    for (const [dataDir, code] of [
      ['/proc/sealnote-test-missing/data', 'ENOENT'],
      [join(d, 'plain-file', 'data'), 'ENOTDIR'],
    ] as const) {
      const problems = problemsOf({ DATA_DIR: dataDir }).join('\n');
      expect(problems).toMatch(new RegExp(`Cannot create the folder .* \\(${code}\\)`));
    }
  });

  it('refuses unreadable TLS files and a DATA_DIR that is a file', () => {
    const d = dir();
    const file = join(d, 'plain-file');
    writeFileSync(file, 'x');
    const problems = problemsOf({
      ...testSecrets(),
      DATA_DIR: file,
      TLS_CERT_FILE: join(d, 'missing-cert.pem'),
      TLS_KEY_FILE: d,
    });
    expect(problems.join('\n')).toMatch(/DATA_DIR names a file/);
    expect(problems.join('\n')).toMatch(/TLS_CERT_FILE: cannot read/);
    expect(problems.join('\n')).toMatch(/TLS_KEY_FILE: cannot read/);
  });

  it('reads TRUST_PROXY as hops or addresses', () => {
    expect(loadConfig({ ...testSecrets(), DATA_DIR: dir(), TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(
      loadConfig({ ...testSecrets(), DATA_DIR: dir(), TRUST_PROXY: '10.0.0.1, 10.1.0.0/16' })
        .trustProxy,
    ).toEqual(['10.0.0.1', '10.1.0.0/16']);
  });
});

describe('NAME_FILE secrets', () => {
  it('reads every secret from a file, dropping the trailing newline', () => {
    const d = dir();
    const secrets = testSecrets();
    const files: Record<string, string> = {};
    const values: Record<string, string> = {
      JWT_SECRET: secrets.JWT_SECRET,
      ENCRYPTION_KEYS: secrets.ENCRYPTION_KEYS,
      DATABASE_URL: 'postgres://app:pw@db/sealnote',
      MIGRATION_DATABASE_URL: 'postgres://owner:pw@db/sealnote',
      REDIS_URL: 'redis://:pw@cache:6379',
    };
    for (const [name, value] of Object.entries(values)) {
      const path = join(d, name.toLowerCase());
      writeFileSync(path, `${value}\n`);
      files[`${name}_FILE`] = path;
    }
    const config = loadConfig({ DATA_DIR: d, ...files });
    expect(config.jwtSecret).toBe(values.JWT_SECRET);
    expect(config.encryptionKeys).toEqual([values.ENCRYPTION_KEYS]);
    expect(config.databaseUrl).toBe(values.DATABASE_URL);
    expect(config.migrationDatabaseUrl).toBe(values.MIGRATION_DATABASE_URL);
    expect(config.redisUrl).toBe(values.REDIS_URL);
    expect(config.generatedSecrets).toEqual([]);
  });

  it('refuses both NAME and NAME_FILE, and a file that cannot be read', () => {
    const problems = problemsOf({
      DATA_DIR: dir(),
      JWT_SECRET: 'x'.repeat(40),
      JWT_SECRET_FILE: '/etc/hostname',
      ENCRYPTION_KEYS_FILE: '/nonexistent/keys',
    });
    expect(problems.join('\n')).toMatch(/JWT_SECRET and JWT_SECRET_FILE are both set/);
    expect(problems.join('\n')).toMatch(/ENCRYPTION_KEYS_FILE: cannot read/);
  });
});

describe('development secrets', () => {
  it('generates them once into DATA_DIR with mode 0600 and reuses them', () => {
    const d = dir();
    const first = loadConfig({ DATA_DIR: d });
    expect(first.generatedSecrets).toEqual(['JWT_SECRET', 'ENCRYPTION_KEYS']);
    const file = join(d, 'generated-secrets.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = loadConfig({ DATA_DIR: d });
    expect(second.jwtSecret).toBe(first.jwtSecret);
    expect(second.encryptionKeys).toEqual(first.encryptionKeys);
    expect(Buffer.byteLength(first.jwtSecret)).toBeGreaterThanOrEqual(32);
    expect(() => FernetKey.parse(first.encryptionKeys[0] ?? '')).not.toThrow();
    expect(readFileSync(file, 'utf8')).toContain(first.jwtSecret);
  });
});

describe('a damaged generated-secrets file', () => {
  it('is reported and left alone, never replaced by new secrets', () => {
    const d = dir();
    writeFileSync(join(d, 'generated-secrets.json'), '{bad');
    expect(problemsOf({ DATA_DIR: d }).join()).toMatch(/generated-secrets.json is damaged/);
    expect(readFileSync(join(d, 'generated-secrets.json'), 'utf8')).toBe('{bad');
  });
});

describe('production refusals', () => {
  const prod = (env: Record<string, string>) =>
    problemsOf({ NODE_ENV: 'production', DATA_DIR: dir(), ...env });

  it('refuses missing secrets and generates nothing', () => {
    const d = dir();
    const problems = problemsOf({ NODE_ENV: 'production', DATA_DIR: d });
    expect(problems.join('\n')).toMatch(/JWT_SECRET.*required in production/);
    expect(problems.join('\n')).toMatch(/ENCRYPTION_KEYS.*required in production/);
    expect(() => statSync(join(d, 'generated-secrets.json'))).toThrow();
  });

  it('refuses generated development secrets', () => {
    const d = dir();
    const dev = loadConfig({ DATA_DIR: d });
    const problems = problemsOf({
      NODE_ENV: 'production',
      DATA_DIR: d,
      JWT_SECRET: dev.jwtSecret,
      ENCRYPTION_KEYS: dev.encryptionKeys.join(','),
    });
    expect(problems.join('\n')).toMatch(/JWT_SECRET is a generated development secret/);
    expect(problems.join('\n')).toMatch(/ENCRYPTION_KEYS starts with a generated development key/);
  });

  it('accepts a generated key behind a production key, to rotate development data', () => {
    const d = dir();
    const dev = loadConfig({ DATA_DIR: d });
    const own = testSecrets();
    const problems = problemsOf({
      NODE_ENV: 'production',
      DATA_DIR: d,
      JWT_SECRET: own.JWT_SECRET,
      ENCRYPTION_KEYS: `${own.ENCRYPTION_KEYS},${dev.encryptionKeys.join(',')}`,
    });
    expect(problems).toEqual([]);
  });

  it.each(['a'.repeat(32), 'changeme'.repeat(4)])('refuses the placeholder JWT secret %j', (s) => {
    expect(prod({ ...testSecrets(), JWT_SECRET: s }).join()).toMatch(/placeholder/);
  });

  it('refuses a plain-http CORS origin', () => {
    expect(prod({ ...testSecrets(), CORS_ORIGINS: 'http://app.example.org' }).join()).toMatch(
      /must be https in production/,
    );
  });

  it('refuses a JWT secret under 32 bytes', () => {
    expect(prod({ ...testSecrets(), JWT_SECRET: 'x'.repeat(31) }).join()).toMatch(
      /at least 32 bytes/,
    );
    expect(prod({ ...testSecrets(), JWT_SECRET: 'abcdefghijklmnopqrstuvwxyz012345' })).toEqual([]);
  });

  it.each([
    ['too short', 'c2hvcnQ='],
    ['standard base64 alphabet', Buffer.alloc(32, 0xfb).toString('base64')],
    ['unpadded', Buffer.alloc(32, 1).toString('base64url')],
    ['33 bytes', Buffer.alloc(33, 1).toString('base64url') + '='],
  ])('refuses a malformed Fernet key (%s)', (_name, key) => {
    expect(prod({ ...testSecrets(), ENCRYPTION_KEYS: key }).join()).toMatch(/not a Fernet key/);
  });

  it('refuses a wildcard CORS origin', () => {
    expect(prod({ ...testSecrets(), CORS_ORIGINS: '*' }).join()).toMatch(/wildcard/);
    expect(prod({ ...testSecrets(), CORS_ORIGINS: 'https://*.example.org' }).join()).toMatch(
      /wildcard/,
    );
  });

  it('starts with proper secrets', () => {
    expect(prod({ ...testSecrets(), CORS_ORIGINS: 'https://app.example.org' })).toEqual([]);
  });
});
