import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { startTestServer, testSecrets, type TestServer } from '../helpers/server.js';

/**
 * Secrets with unmistakable values go through every route; afterwards none of them may appear
 * in any log line, nor (for the embedded database) anywhere in the database files.
 */
const CANARY = {
  password: 'canary-password-Kq93',
  message: 'canary-message-Zx81',
  passphrase: 'canary-passphrase-Lm27',
};

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

async function exercise(server: TestServer): Promise<string[]> {
  const { app } = server;
  const username = `canary_${Date.now()}`;
  const tokens: string[] = [];
  await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { username, password: CANARY.password },
  });
  await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { username, password: 'wrong-canary-password' },
  });
  const login = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { username, password: CANARY.password },
  });
  const token = login.json<{ access_token: string }>().access_token;
  tokens.push(token);
  const auth = { authorization: `Bearer ${token}` };
  const ids: string[] = [];
  for (const body of [
    { message: CANARY.message },
    { message: CANARY.message, passphrase: CANARY.passphrase, max_views: 2 },
  ]) {
    const res = await app.inject({ method: 'POST', url: '/message', headers: auth, payload: body });
    ids.push(res.json<{ id: string }>().id);
  }
  // Bad inputs that carry the canaries: they must not be echoed into logs either.
  await app.inject({
    method: 'POST',
    url: '/message',
    headers: { ...auth, 'content-type': 'application/json' },
    payload: `{"message": "${CANARY.message}`,
  });
  await app.inject({
    method: 'POST',
    url: '/message',
    headers: auth,
    payload: { message: CANARY.message, extra: CANARY.passphrase },
  });
  await app.inject({
    method: 'POST',
    url: '/message',
    headers: auth,
    payload: { message: 5, passphrase: CANARY.passphrase },
  });
  await app.inject({
    method: 'GET',
    url: `/auth/me`,
    headers: { authorization: `Bearer ${token}x`, cookie: `session=${token}` },
  });

  const [plain, gated] = ids;
  await app.inject({ method: 'GET', url: `/message/${plain}` });
  await app.inject({
    method: 'POST',
    url: `/message/${gated}/reveal`,
    payload: { passphrase: `${CANARY.passphrase}-wrong` },
  });
  await app.inject({
    method: 'POST',
    url: `/message/${gated}/reveal`,
    payload: { passphrase: CANARY.passphrase },
  });
  await app.inject({ method: 'GET', url: `/messages`, headers: auth });
  await app.inject({ method: 'POST', url: '/auth/logout', headers: auth });
  return [token, ...ids];
}

describe('canary secrets on the embedded database', () => {
  let server: TestServer;
  const secrets = testSecrets();
  let captured: string[] = [];

  beforeAll(async () => {
    server = await startTestServer({ env: { ...secrets, LOG_LEVEL: 'trace' } });
    captured = await exercise(server);
    await server.app.close();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('logs something for every request (the test would be empty otherwise)', () => {
    expect(
      server.logs.filter((l) => l.includes('"event":"http_request"')).length,
    ).toBeGreaterThanOrEqual(12);
  });

  it('keeps message, password, passphrase, token, keys and ids out of every log line', () => {
    const all = server.logs.join('\n');
    const [token, ...ids] = captured;
    for (const value of [
      ...Object.values(CANARY),
      token ?? 'x',
      secrets.JWT_SECRET,
      secrets.ENCRYPTION_KEYS,
      ...ids,
    ]) {
      expect(all).not.toContain(value);
    }
    expect(all).not.toContain('Bearer');
  });

  it('logs the route pattern, not the URL', () => {
    expect(server.logs.some((l) => l.includes('"route":"/message/:id"'))).toBe(true);
  });

  it('writes JSON lines with @timestamp, level, message and an event name', () => {
    for (const line of server.logs) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      expect(typeof entry['@timestamp']).toBe('string');
      expect(typeof entry.level).toBe('string');
      expect(typeof entry.message).toBe('string');
    }
  });

  it('keeps message, password, passphrase and keys out of the database files', () => {
    const files = filesUnder(join(server.dataDir, 'pgdata'));
    expect(files.length).toBeGreaterThan(10);
    const needles = [...Object.values(CANARY), secrets.JWT_SECRET, secrets.ENCRYPTION_KEYS].map(
      (v) => Buffer.from(v),
    );
    for (const file of files) {
      const bytes = readFileSync(file);
      for (const needle of needles) expect(bytes.includes(needle), file).toBe(false);
    }
  });
});

describe('canary secrets on PostgreSQL and Redis', () => {
  let db: TestDatabase;
  let server: TestServer;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await server.stop();
    await db.drop();
  });

  it('never logs the database or Redis password, even when Redis refuses it', async () => {
    const redisPassword = 'canary-redis-pw-77';
    server = await startTestServer({
      env: {
        ...testSecrets(),
        LOG_LEVEL: 'trace',
        DATABASE_URL: db.appUrl,
        REDIS_URL: `redis://:${redisPassword}@127.0.0.1:6379`,
      },
    });
    await exercise(server);
    const all = server.logs.join('\n');
    const dbPassword = new URL(db.appUrl).password;
    expect(dbPassword.length).toBeGreaterThan(8);
    expect(all).not.toContain(dbPassword);
    expect(all).not.toContain(redisPassword);
    expect(all).not.toContain(CANARY.message);
    expect(all).not.toContain(CANARY.password);
  });
});
