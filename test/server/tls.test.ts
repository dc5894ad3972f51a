import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, testSecrets, type TestServer } from '../helpers/server.js';

/** A throwaway self-signed certificate, made at test time and deleted afterwards. */
function makeCertificate(dir: string) {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

function get(port: number, path: string) {
  return new Promise<{ status: number | undefined; headers: Record<string, unknown> }>(
    (resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, rejectUnauthorized: false }, (res) => {
        res.resume();
        res.on('end', () => {
          resolve({ status: res.statusCode, headers: res.headers });
        });
      });
      req.on('error', reject);
      req.end();
    },
  );
}

describe('serving HTTPS directly', () => {
  let dir: string;
  let server: TestServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sealnote-tls-'));
    const { cert, key } = makeCertificate(dir);
    server = await startTestServer({
      env: { ...testSecrets(), TLS_CERT_FILE: cert, TLS_KEY_FILE: key },
      listen: true,
    });
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers over TLS with HSTS', async () => {
    const port = Number(new URL(server.url).port);
    const res = await get(port, '/healthz');
    expect(res.status).toBe(200);
    expect(res.headers['strict-transport-security']).toMatch(/max-age=\d{7,}; includeSubDomains/);
  });

  it('does not speak plain HTTP on the TLS port', async () => {
    const port = new URL(server.url).port;
    const plain = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
    expect(plain?.status).not.toBe(200);
  });
});
