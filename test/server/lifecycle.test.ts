import { Agent, request } from 'node:http';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { PASSWORD, uniqueName } from '../helpers/api.js';
import { spawnServer, startServerProcess, type ServerProcess } from '../helpers/process.js';
import { testSecrets } from '../helpers/server.js';

const dirs: string[] = [];
const running: ServerProcess[] = [];
afterAll(async () => {
  await Promise.all(running.map((p) => p.stop('SIGKILL')));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sealnote-proc-'));
  dirs.push(d);
  cpSync(inject('pgliteTemplate'), join(d, 'pgdata'), { recursive: true });
  return d;
}

async function json(url: string, init: RequestInit = {}) {
  const res = await fetch(url, {
    ...init,
    headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string>) },
  });
  const text = await res.text();
  return {
    status: res.status,
    body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>),
  };
}

async function signUp(url: string) {
  const username = uniqueName();
  await json(`${url}/auth/register`, {
    method: 'POST',
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  const login = await json(`${url}/auth/login`, {
    method: 'POST',
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  return { username, token: String(login.body?.access_token) };
}

describe('the server process', () => {
  it('keeps messages and accounts across a restart, and exits 0 on SIGTERM', async () => {
    const env = { ...testSecrets(), DATA_DIR: dataDir() };
    const first = await startServerProcess(env);
    const { username, token } = await signUp(first.url);
    const created = await json(`${first.url}/message`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: JSON.stringify({ message: 'survives a restart', max_views: 2 }),
    });
    expect(created.status).toBe(201);
    expect(await first.stop()).toBe(0);
    expect(first.output()).toContain('"event":"shutdown_finished"');

    const second = await startServerProcess(env);
    running.push(second);
    const read = await json(`${second.url}/message/${String(created.body?.id)}`);
    expect(read.body?.message).toBe('survives a restart');
    const login = await json(`${second.url}/auth/login`, {
      method: 'POST',
      body: JSON.stringify({ username, password: PASSWORD }),
    });
    expect(login.status).toBe(200);
    // A token issued before the restart still works: the secrets are the same.
    expect(
      (await json(`${second.url}/auth/me`, { headers: { authorization: `Bearer ${token}` } }))
        .status,
    ).toBe(200);
  });

  it('refuses to start on a DATA_DIR another process holds', async () => {
    const env = { ...testSecrets(), DATA_DIR: dataDir() };
    const holder = await startServerProcess(env);
    running.push(holder);
    const intruder = spawnServer(env);
    expect(await intruder.exited).toBe(1);
    expect(intruder.output()).toMatch(/in use by another Sealnote process/);
    expect((await fetch(`${holder.url}/readyz`)).status).toBe(200);
  });

  it('stops at once when a frozen holder finds its DATA_DIR lock taken over', async () => {
    const env = { ...testSecrets(), DATA_DIR: dataDir() };
    const frozen = await startServerProcess(env);
    frozen.child.kill('SIGSTOP');
    // The lock goes stale after 10 s without a refresh; then a new process may take it.
    await new Promise((r) => setTimeout(r, 13_000));
    const successor = await startServerProcess(env);
    running.push(successor);
    frozen.child.kill('SIGCONT');

    expect(await frozen.exited).toBe(1);
    expect(frozen.output()).toContain('"event":"data_dir_lock_lost"');
    expect((await fetch(`${successor.url}/readyz`)).status).toBe(200);
  });

  it('finishes an in-flight request on SIGTERM before exiting 0', async () => {
    const server = await startServerProcess({ ...testSecrets(), DATA_DIR: dataDir() });
    const { token } = await signUp(server.url);
    const body = JSON.stringify({ message: 'sent while shutting down' });
    const { port } = new URL(server.url);

    // A keep-alive agent: the answer must close the connection, or the idle connection
    // would keep the draining process alive for the keep-alive timeout.
    const agent = new Agent({ keepAlive: true });
    const response = new Promise<{ status?: number; connection?: string }>((resolve, reject) => {
      const req = request(
        {
          agent,
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/message',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            resolve({ status: res.statusCode, connection: res.headers.connection });
          });
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 10));
      // The rest follows after the signal has been sent.
      setTimeout(() => {
        server.child.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(10)), 300);
      }, 200);
    });

    expect(await response).toEqual({ status: 201, connection: 'close' });
    expect(await server.exited).toBe(0);
    agent.destroy();
  });

  it('refuses a 22 MB body with 413 before reading it, and stays healthy', async () => {
    const server = await startServerProcess({ ...testSecrets(), DATA_DIR: dataDir() });
    running.push(server);
    const { token } = await signUp(server.url);
    const big = Buffer.alloc(22 * 1024 * 1024, 'a');

    const declared = await fetch(`${server.url}/message`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: big,
    });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toMatchObject({ code: 'payload_too_large' });

    // Chunked, with no Content-Length: refused once the limit is crossed while streaming.
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 22; i += 1) controller.enqueue(new Uint8Array(1024 * 1024).fill(97));
        controller.close();
      },
    });
    const chunked = await fetch(`${server.url}/message`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    }).catch(() => undefined);
    if (chunked !== undefined) expect(chunked.status).toBe(413);

    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const rss = await fetch(`${server.url}/readyz`);
    expect(rss.status).toBe(200);
  });

  it('prints one clear message listing every configuration problem and exits 1', async () => {
    const bad = spawnServer({
      DATA_DIR: dataDir(),
      PORT: 'x',
      JWT_SECRET: 'short',
      CORS_ORIGINS: '*',
    });
    expect(await bad.exited).toBe(1);
    const out = bad.output();
    expect(out).toContain('Invalid configuration');
    expect(out).toMatch(/PORT/);
    expect(out).toMatch(/JWT_SECRET must be at least 32 bytes/);
    expect(out).toMatch(/wildcard/);
    expect(out).not.toContain('short"');
  });

  it('refuses to start in production without secrets', async () => {
    const prod = spawnServer({ NODE_ENV: 'production', DATA_DIR: dataDir() });
    expect(await prod.exited).toBe(1);
    expect(prod.output()).toMatch(/required in production/);
  });
});
