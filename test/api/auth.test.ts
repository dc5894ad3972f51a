import { createHmac, createSign, generateKeyPairSync, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JWT_AUDIENCE, JWT_ISSUER } from '../../src/config/env.js';
import { PASSWORD, createMessage, registerAndLogin, uniqueName } from '../helpers/api.js';
import { startTestServer, testSecrets, type TestServer } from '../helpers/server.js';

let server: TestServer;
let secret: string;

beforeAll(async () => {
  const secrets = testSecrets();
  secret = secrets.JWT_SECRET;
  server = await startTestServer({ env: secrets });
});
afterAll(async () => {
  await server.stop();
});

const post = (url: string, payload: Record<string, unknown>) =>
  server.app.inject({ method: 'POST', url, payload });
const me = (token: string) =>
  server.app.inject({
    method: 'GET',
    url: '/auth/me',
    headers: { authorization: `Bearer ${token}` },
  });

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
function hs256(header: Record<string, unknown>, claims: Record<string, unknown>, key = secret) {
  const head = `${b64(header)}.${b64(claims)}`;
  return `${head}.${createHmac('sha256', key).update(head).digest('base64url')}`;
}
function claimsFor(sub: string, overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    sub,
    jti: randomUUID(),
    iat: now,
    exp: now + 600,
    iss: JWT_ISSUER,
    aud: JWT_AUDIENCE,
    ...overrides,
  };
}

describe('registration', () => {
  it('creates an account and returns only id and username', async () => {
    const username = uniqueName();
    const res = await post('/auth/register', { username, password: PASSWORD });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ id: expect.any(String), username });
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('refuses a username that differs only by case with 409', async () => {
    const username = uniqueName('Case');
    expect((await post('/auth/register', { username, password: PASSWORD })).statusCode).toBe(201);
    const again = await post('/auth/register', {
      username: username.toUpperCase(),
      password: PASSWORD,
    });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'username_taken' });
  });

  it.each([
    ['a short username', { username: 'ab', password: PASSWORD }],
    ['a long username', { username: 'a'.repeat(33), password: PASSWORD }],
    ['a username with a space', { username: 'a b c', password: PASSWORD }],
    ['a username with unicode', { username: 'ålice', password: PASSWORD }],
    ['an operator object', { username: { $gt: '' }, password: PASSWORD }],
    ['an extra field', { username: 'someone', password: PASSWORD, admin: true }],
    ['an 11-character password', { username: uniqueName(), password: 'elevenchars' }],
    ['a 257-character password', { username: uniqueName(), password: 'p'.repeat(257) }],
  ])('refuses %s with 400', async (_name, body) => {
    const res = await post('/auth/register', body);
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
  });

  it('counts password length in characters: 12 emoji are enough', async () => {
    const res = await post('/auth/register', { username: uniqueName(), password: '🔑'.repeat(12) });
    expect(res.statusCode).toBe(201);
  });

  it('stores an Argon2id hash, never the password', async () => {
    const username = uniqueName();
    await post('/auth/register', { username, password: 'canary-password-xyz' });
    const [row] = await server.query<{ password_hash: string }>(
      'SELECT password_hash FROM users WHERE username = $1',
      [username],
    );
    expect(row?.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(row?.password_hash).not.toContain('canary-password-xyz');
  });
});

describe('login', () => {
  it('issues a Bearer JWT with exp, iat, sub, jti, issuer and audience', async () => {
    const { token, id } = await registerAndLogin(server.app);
    const [header, payload] = token
      .split('.')
      .slice(0, 2)
      .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>);
    expect(header).toMatchObject({ alg: 'HS256' });
    expect(payload).toMatchObject({ sub: id, iss: JWT_ISSUER, aud: JWT_AUDIENCE });
    expect(typeof payload?.jti).toBe('string');
    expect((payload?.exp as number) - (payload?.iat as number)).toBe(900);
    expect((await me(token)).json()).toMatchObject({ id });
  });

  it('answers unknown users and wrong passwords with the same body', async () => {
    const { username } = await registerAndLogin(server.app);
    const wrong = await post('/auth/login', { username, password: 'not the password!' });
    const unknown = await post('/auth/login', {
      username: uniqueName('ghost'),
      password: PASSWORD,
    });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.body).toBe(unknown.body);
    expect(server.logs.some((l) => l.includes('"event":"login_failed"'))).toBe(true);
  });

  it('compares passwords after NFC normalisation and does not truncate them', async () => {
    const username = uniqueName();
    const long = `${'x'.repeat(100)}caf\u00e9`;
    await post('/auth/register', { username, password: long });
    expect(
      (await post('/auth/login', { username, password: `${'x'.repeat(100)}cafe\u0301` }))
        .statusCode,
    ).toBe(200);
    expect(
      (await post('/auth/login', { username, password: `${'x'.repeat(100)}cafe` })).statusCode,
    ).toBe(401);
    expect((await post('/auth/login', { username, password: 'x'.repeat(100) })).statusCode).toBe(
      401,
    );
  });
});

describe('tokens', () => {
  it('logout revokes the token at once', async () => {
    const { token } = await registerAndLogin(server.app);
    const out = await server.app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(out.statusCode).toBe(204);
    expect((await me(token)).statusCode).toBe(401);
    expect((await createMessage(server.app, token, { message: 'x' })).statusCode).toBe(401);
    expect(server.logs.some((l) => l.includes('"event":"token_revoked"'))).toBe(true);
  });

  it('logout accepts an empty body labelled JSON', async () => {
    const { token } = await registerAndLogin(server.app);
    const out = await server.app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });
    expect(out.statusCode).toBe(204);
  });

  it('keeps a logged-out token dead across a restart, without Redis', async () => {
    const env = testSecrets();
    const first = await startTestServer({ env });
    const { token } = await registerAndLogin(first.app);
    await first.app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: { authorization: `Bearer ${token}` },
    });
    await first.app.close();

    const second = await startTestServer({ env, dataDir: first.dataDir });
    try {
      const res = await second.app.inject({
        method: 'GET',
        url: '/auth/me',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.statusCode).toBe(401);
    } finally {
      await second.stop();
      await first.stop();
    }
  });

  it('logout refuses a body with unknown properties', async () => {
    const { token } = await registerAndLogin(server.app);
    const out = await server.app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: { authorization: `Bearer ${token}` },
      payload: { everywhere: true },
    });
    expect(out.statusCode).toBe(400);
    expect((await me(token)).statusCode).toBe(200);
  });

  it('logout without a token is 401', async () => {
    expect((await server.app.inject({ method: 'POST', url: '/auth/logout' })).statusCode).toBe(401);
  });

  it('accepts a well-formed token we signed (control for the attacks below)', async () => {
    const { id } = await registerAndLogin(server.app);
    expect((await me(hs256({ alg: 'HS256', typ: 'JWT' }, claimsFor(id)))).statusCode).toBe(200);
  });

  it.each([
    ['alg none', (id: string) => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claimsFor(id))}.`],
    ['alg None with a signature', (id: string) => hs256({ alg: 'None' }, claimsFor(id))],
    [
      'an expired token',
      (id: string) =>
        hs256({ alg: 'HS256' }, claimsFor(id, { exp: Math.floor(Date.now() / 1000) - 60 })),
    ],
    [
      'a token without exp',
      (id: string) => hs256({ alg: 'HS256' }, claimsFor(id, { exp: undefined })),
    ],
    [
      'a token without jti',
      (id: string) => hs256({ alg: 'HS256' }, claimsFor(id, { jti: undefined })),
    ],
    [
      'a token from another issuer',
      (id: string) => hs256({ alg: 'HS256' }, claimsFor(id, { iss: 'evil' })),
    ],
    [
      'a token for another audience',
      (id: string) => hs256({ alg: 'HS256' }, claimsFor(id, { aud: 'other' })),
    ],
    [
      'a token signed with another key',
      (id: string) => hs256({ alg: 'HS256' }, claimsFor(id), 'another key that is long enough!!'),
    ],
    [
      'HS512 with the right key',
      (id: string) => {
        const head = `${b64({ alg: 'HS512' })}.${b64(claimsFor(id))}`;
        return `${head}.${createHmac('sha512', secret).update(head).digest('base64url')}`;
      },
    ],
    [
      'RS256 signed with an attacker key',
      (id: string) => {
        const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        const head = `${b64({ alg: 'RS256' })}.${b64(claimsFor(id))}`;
        return `${head}.${createSign('RSA-SHA256').update(head).sign(privateKey).toString('base64url')}`;
      },
    ],
    [
      'a tampered payload',
      (id: string) => {
        const good = hs256({ alg: 'HS256' }, claimsFor(id));
        const [h, , s] = good.split('.');
        return `${h}.${b64(claimsFor(randomUUID()))}.${s}`;
      },
    ],
  ])('refuses %s', async (_name, make) => {
    const { id } = await registerAndLogin(server.app);
    const token = make(id);
    expect((await me(token)).statusCode).toBe(401);
    expect((await createMessage(server.app, token, { message: 'x' })).statusCode).toBe(401);
  });

  it.each(['Basic abc', 'Bearer', 'Bearer a.b', 'bearer  x.y.z z', 'Token x.y.z'])(
    'refuses the Authorization header %j',
    async (header) => {
      const res = await server.app.inject({
        method: 'GET',
        url: '/auth/me',
        headers: { authorization: header },
      });
      expect(res.statusCode).toBe(401);
    },
  );
});
