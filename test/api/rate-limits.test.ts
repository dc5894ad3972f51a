import { afterEach, describe, expect, it } from 'vitest';
import { createMessage, registerAndLogin } from '../helpers/api.js';
import { startTestServer, testSecrets, type TestServer } from '../helpers/server.js';
import { TcpProxy, eventually } from '../helpers/tcp-proxy.js';

const servers: TestServer[] = [];
const proxies: TcpProxy[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
  await Promise.all(proxies.splice(0).map((p) => p.stop()));
});

async function start(env: Record<string, string>) {
  const server = await startTestServer({ env: { ...testSecrets(), ...env } });
  servers.push(server);
  return server;
}

const spoofHeaders = (i: number) => ({
  'x-forwarded-for': `203.0.113.${i}`,
  'x-real-ip': `198.51.100.${i}`,
  forwarded: `for=192.0.2.${i}`,
});

describe('per-client limit', () => {
  it('answers 429 with Retry-After past RATE_LIMIT_MAX, and spoofed forwarding headers change nothing', async () => {
    const server = await start({ RATE_LIMIT_MAX: '5' });
    const statuses = [];
    for (let i = 0; i < 7; i += 1) {
      const res = await server.app.inject({
        method: 'GET',
        url: '/openapi.json',
        headers: spoofHeaders(i),
      });
      statuses.push(res.statusCode);
      if (res.statusCode === 429) {
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
        expect(res.json()).toMatchObject({ code: 'rate_limited', status: 429 });
      }
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect(server.logs.some((l) => l.includes('"event":"rate_limit_exceeded"'))).toBe(true);
  });

  it('believes X-Forwarded-For only from a trusted proxy', async () => {
    const server = await start({ RATE_LIMIT_MAX: '2', TRUST_PROXY: '127.0.0.1' });
    const from = (ip: string) =>
      server.app.inject({
        method: 'GET',
        url: '/openapi.json',
        headers: { 'x-forwarded-for': ip },
      });
    expect((await from('203.0.113.1')).statusCode).toBe(200);
    expect((await from('203.0.113.1')).statusCode).toBe(200);
    expect((await from('203.0.113.1')).statusCode).toBe(429);
    expect((await from('203.0.113.2')).statusCode).toBe(200);
  });

  it('limits /auth/* more tightly with AUTH_RATE_LIMIT_MAX', async () => {
    const server = await start({ RATE_LIMIT_MAX: '100', AUTH_RATE_LIMIT_MAX: '3' });
    const statuses = [];
    for (let i = 0; i < 5; i += 1) {
      const res = await server.app.inject({
        method: 'POST',
        url: '/auth/login',
        headers: spoofHeaders(i),
        payload: { username: 'nobody', password: 'wrong password!!' },
      });
      statuses.push(res.statusCode);
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    expect((await server.app.inject({ method: 'GET', url: '/openapi.json' })).statusCode).toBe(200);
  });

  it('counts all /auth routes against one AUTH_RATE_LIMIT_MAX', async () => {
    const server = await start({ AUTH_RATE_LIMIT_MAX: '3' });
    const register = await server.app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { username: 'limited_user', password: 'long enough password' },
    });
    const login = await server.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { username: 'limited_user', password: 'long enough password' },
    });
    const me = await server.app.inject({ method: 'GET', url: '/auth/me' });
    const logout = await server.app.inject({ method: 'POST', url: '/auth/logout' });
    expect([register.statusCode, login.statusCode, me.statusCode, logout.statusCode]).toEqual([
      201, 200, 401, 429,
    ]);
    expect(Number(logout.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('never limits the health probes', async () => {
    const server = await start({ RATE_LIMIT_MAX: '2' });
    for (let i = 0; i < 5; i += 1) {
      expect((await server.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      expect((await server.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    }
  });

  it('limits requests to unknown routes too', async () => {
    const server = await start({ RATE_LIMIT_MAX: '2' });
    const statuses = [];
    for (let i = 0; i < 3; i += 1) {
      statuses.push((await server.app.inject({ method: 'GET', url: '/wp-admin' })).statusCode);
    }
    expect(statuses).toEqual([404, 404, 429]);
  });

  it('caps message creation per account, whatever the client address', async () => {
    const server = await start({ CREATE_RATE_LIMIT_MAX: '2', TRUST_PROXY: '127.0.0.1' });
    const { token } = await registerAndLogin(server.app);
    const statuses = [];
    for (let i = 0; i < 3; i += 1) {
      const res = await server.app.inject({
        method: 'POST',
        url: '/message',
        headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': `203.0.113.${i}` },
        payload: { message: 'x' },
      });
      statuses.push(res.statusCode);
      if (res.statusCode === 429) expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect(statuses).toEqual([201, 201, 429]);
    const other = await registerAndLogin(server.app);
    expect((await createMessage(server.app, other.token, { message: 'x' })).statusCode).toBe(201);
  });
});

describe('shared counters in Redis', () => {
  it('counts one client across two replicas', async () => {
    const env = { RATE_LIMIT_MAX: '4', REDIS_URL: 'redis://127.0.0.1:6379' };
    // Both replicas share the secrets, as replicas do.
    const secrets = testSecrets();
    const a = await startTestServer({ env: { ...secrets, ...env } });
    const b = await startTestServer({ env: { ...secrets, ...env } });
    servers.push(a, b);
    const ip = `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.7`;
    const hit = (s: TestServer) =>
      s.app.inject({ method: 'GET', url: '/openapi.json', remoteAddress: ip });

    const statuses = [];
    for (const s of [a, b, a, b, a, b]) statuses.push((await hit(s)).statusCode);
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
  });

  it('shares logouts across replicas', async () => {
    // Replicas share the JWT secret and Redis; each has its own storage here.
    const env = { ...testSecrets(), REDIS_URL: 'redis://127.0.0.1:6379' };
    const a = await startTestServer({ env });
    const b = await startTestServer({ env });
    servers.push(a, b);
    const { token } = await registerAndLogin(a.app);
    const claims = a.services.tokens.verify(token);
    expect(claims).toBeDefined();
    expect(await b.services.revocations.isRevoked(claims?.jti ?? '')).toBe(false);

    const out = await a.app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: { authorization: `Bearer ${token}` },
    });

    expect(out.statusCode).toBe(204);
    expect(await b.services.revocations.isRevoked(claims?.jti ?? '')).toBe(true);
  });

  it('keeps serving while Redis is away, logs the fault, and limits again when it is back', async () => {
    const proxy = await new TcpProxy('127.0.0.1', 6379).start();
    proxies.push(proxy);
    const server = await start({
      RATE_LIMIT_MAX: '3',
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
    });
    const ip = `10.9.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;
    const hit = () => server.app.inject({ method: 'GET', url: '/openapi.json', remoteAddress: ip });

    await proxy.cut();
    const during = [];
    for (let i = 0; i < 6; i += 1) during.push((await hit()).statusCode);
    expect(during.every((s) => s === 200)).toBe(true);
    await eventually(
      async () => server.logs.some((l) => l.includes('"event":"redis_unavailable"')),
      (seen) => seen,
    );

    await proxy.restore();
    await eventually(
      async () => (await hit()).statusCode,
      (status) => status === 429,
    );
    expect(server.logs.some((l) => l.includes('"event":"redis_recovered"'))).toBe(true);
  });
});
