import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, testSecrets, type TestServer } from '../helpers/server.js';

let server: TestServer;
const ALLOWED = 'https://app.example.org';

beforeAll(async () => {
  server = await startTestServer({
    env: { ...testSecrets(), CORS_ORIGINS: `${ALLOWED},http://localhost:5173` },
  });
});
afterAll(async () => {
  await server.stop();
});

describe('security headers', () => {
  const expectCommonHeaders = (headers: Record<string, unknown>) => {
    const csp = String(headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toContain("require-trusted-types-for 'script'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['x-frame-options']).toBe('DENY');
    expect(headers['referrer-policy']).toBe('no-referrer');
    expect(headers['x-powered-by']).toBeUndefined();
    expect(headers['strict-transport-security']).toBeUndefined();
  };

  it.each(['/', '/m/5f0c6f0e-8c1f-4c55-9a53-3b6a4f1c2d3e'])(
    'sends the page its strict CSP with Trusted Types, and the document headers, on %s',
    async (url) => {
      const res = await server.app.inject({ method: 'GET', url });
      expectCommonHeaders(res.headers);
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain('trusted-types sealnote dompurify');
      expect(res.headers['cross-origin-opener-policy']).toBe('same-origin');
      expect(res.headers['x-xss-protection']).toBe('0');
    },
  );

  it.each([
    ['GET', '/healthz'],
    ['GET', '/nowhere'],
    ['GET', '/message/5f0c6f0e-8c1f-4c55-9a53-3b6a4f1c2d3e'],
    ['POST', '/auth/login'],
  ] as const)(
    'sends API answers (%s %s) a CSP that lets nothing run, without document headers',
    async (method, url) => {
      const res = await server.app.inject({ method, url });
      expectCommonHeaders(res.headers);
      // Nothing is allowed at all: no script, style, image or connection source.
      expect(String(res.headers['content-security-policy'])).not.toMatch(/-src '?self/);
      expect(res.headers['cross-origin-resource-policy']).toBe('same-origin');
      expect(res.headers['x-xss-protection']).toBeUndefined();
      expect(res.headers['cross-origin-opener-policy']).toBeUndefined();
    },
  );

  it('marks API responses no-store', async () => {
    for (const url of ['/healthz', '/auth/me', '/messages']) {
      const res = await server.app.inject({ method: 'GET', url });
      expect(res.headers['cache-control']).toBe('no-store');
    }
  });

  it('serves the page at / and /m/{id}', async () => {
    for (const url of ['/', '/m/5f0c6f0e-8c1f-4c55-9a53-3b6a4f1c2d3e']) {
      const res = await server.app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toContain('text/html');
      expect(res.body).toContain('Sealnote');
      expect(res.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    }
  });

  it('tells the page the message limit in /config.json', async () => {
    const res = await server.app.inject({ method: 'GET', url: '/config.json' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ max_message_bytes: 65_536 });
  });

  it('serves the OpenAPI document and its viewer', async () => {
    const doc = await server.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(doc.statusCode).toBe(200);
    const spec = doc.json<{ openapi: string; paths: Record<string, unknown> }>();
    expect(spec.openapi).toMatch(/^3\./);
    for (const path of [
      '/auth/register',
      '/auth/login',
      '/message',
      '/message/{id}',
      '/message/{id}/reveal',
      '/messages',
    ]) {
      expect(spec.paths).toHaveProperty(path);
    }
    const ui = await server.app.inject({ method: 'GET', url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toContain('swagger');
  });

  it.each([
    ['a URL that does not decode', '/message/%zz', 'invalid_request'],
    ['a broken escape', '/%E0%A4%A', 'invalid_request'],
    ['an id longer than any path segment', `/message/${'a'.repeat(500)}`, 'malformed_id'],
  ])('answers %s with a 400 problem that does not quote the URL', async (_name, url, code) => {
    const res = await server.app.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({ code });
    expect(res.body).not.toContain(url.slice(1, 20));
    expect(res.headers['cache-control']).toBe('no-store');
    expect(String(res.headers['content-security-policy'])).toContain("default-src 'none'");
  });

  it('answers unknown routes with a problem document', async () => {
    const res = await server.app.inject({ method: 'GET', url: '/admin' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({ status: 404, code: 'not_found' });
  });
});

describe('CORS', () => {
  const preflight = (origin: string, method = 'POST', headers = 'content-type,authorization') =>
    server.app.inject({
      method: 'OPTIONS',
      url: '/message',
      headers: {
        origin,
        'access-control-request-method': method,
        'access-control-request-headers': headers,
      },
    });

  it('allows an exact listed origin with only the methods and headers the API uses', async () => {
    const res = await preflight(ALLOWED);
    expect(res.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(
      String(res.headers['access-control-allow-methods'])
        .split(',')
        .map((m) => m.trim())
        .sort(),
    ).toEqual(['DELETE', 'GET', 'POST']);
    expect(
      String(res.headers['access-control-allow-headers'])
        .toLowerCase()
        .split(',')
        .map((h) => h.trim())
        .sort(),
    ).toEqual(['authorization', 'content-type']);
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it.each([
    ['a foreign origin', 'https://evil.example'],
    ['the null origin', 'null'],
    ['a suffix look-alike', 'https://app.example.org.evil.example'],
    ['a prefix look-alike', 'https://evilapp.example.org'],
    ['another scheme', 'http://app.example.org'],
    ['another port', 'https://app.example.org:8443'],
    ['a trailing slash', 'https://app.example.org/'],
    ['a sub-domain', 'https://x.app.example.org'],
    ['upper case', 'HTTPS://APP.EXAMPLE.ORG'],
  ])('does not allow %s', async (_name, origin) => {
    const res = await preflight(origin);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const simple = await server.app.inject({ method: 'GET', url: '/healthz', headers: { origin } });
    expect(simple.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers a simple request from an allowed origin with Vary: Origin', async () => {
    const res = await server.app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { origin: ALLOWED },
    });
    expect(res.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(String(res.headers.vary)).toContain('Origin');
  });
});
