import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { createLogger } from '../../src/logger.js';
import { buildApp } from '../../src/app.js';
import { MAX_NAMED_STATEMENTS, openPostgres } from '../../src/storage/database.js';
import { LATEST_VERSION, migrate, schemaVersion } from '../../src/storage/migrations.js';
import { excessPrivileges } from '../../src/storage/role-check.js';
import { createdId, registerAndLogin } from '../helpers/api.js';
import { adminQuery, createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { startTestServer, testSecrets, type TestServer } from '../helpers/server.js';
import { TcpProxy, eventually } from '../helpers/tcp-proxy.js';

let db: TestDatabase;
let server: TestServer;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({ env: { ...testSecrets(), DATABASE_URL: db.appUrl } });
});
afterAll(async () => {
  await server.stop();
  await db.drop();
});

describe('serving from PostgreSQL with the least-privilege role', () => {
  it('runs the message flow end to end', async () => {
    expect(server.services.db.kind).toBe('postgres');
    const { token } = await registerAndLogin(server.app);
    const id = await createdId(server.app, token, { message: 'pg 🔥\u0000', max_views: 2 });
    const first = await server.app.inject({ method: 'GET', url: `/message/${id}` });
    expect(first.json()).toMatchObject({ message: 'pg 🔥\u0000', views_left: 1 });
    expect((await server.app.inject({ method: 'GET', url: `/message/${id}` })).statusCode).toBe(
      200,
    );
    expect((await server.app.inject({ method: 'GET', url: `/message/${id}` })).statusCode).toBe(
      404,
    );
  });

  it('prepares each statement once per connection, and runs any number of statements', async () => {
    const conn = openPostgres(db.appUrl, { max: 1 });
    try {
      const sql = 'SELECT $1::int + 1 AS n';
      expect(await conn.query(sql, [1])).toEqual([{ n: 2 }]);
      expect(await conn.query(sql, [2])).toEqual([{ n: 3 }]);
      const prepared = await conn.query<{ name: string }>(
        'SELECT name FROM pg_prepared_statements WHERE statement = $1',
        [sql],
      );
      expect(prepared).toHaveLength(1);
      // Past the cap on named statements, the rest run unnamed, and run all the same.
      for (let i = 0; i < MAX_NAMED_STATEMENTS + 50; i++) {
        expect(await conn.query(`SELECT $1::int + ${String(i)} AS n`, [1])).toEqual([{ n: 1 + i }]);
      }
      const named = await conn.query<{ count: string }>(
        'SELECT count(*) FROM pg_prepared_statements',
      );
      expect(Number(named[0]?.count)).toBeLessThanOrEqual(MAX_NAMED_STATEMENTS);
    } finally {
      await conn.close();
    }
  });

  it('gives exactly one 200 to 50 concurrent reads over real connections', async () => {
    const { token } = await registerAndLogin(server.app);
    const id = await createdId(server.app, token, { message: 'race' });
    const results = await Promise.all(
      Array.from({ length: 50 }, () => server.app.inject({ method: 'GET', url: `/message/${id}` })),
    );
    expect(results.filter((r) => r.statusCode === 200)).toHaveLength(1);
    expect(results.filter((r) => r.statusCode === 404)).toHaveLength(49);
  });

  it('hands out each view of a 5-view message exactly once under 40 concurrent reads', async () => {
    const { token } = await registerAndLogin(server.app);
    const id = await createdId(server.app, token, { message: 'five', max_views: 5 });
    const results = await Promise.all(
      Array.from({ length: 40 }, () => server.app.inject({ method: 'GET', url: `/message/${id}` })),
    );
    const ok = results.filter((r) => r.statusCode === 200);
    expect(ok).toHaveLength(5);
    expect(ok.map((r) => r.json<{ views_left: number }>().views_left).sort()).toEqual([
      0, 1, 2, 3, 4,
    ]);
    expect(ok.every((r) => r.json<{ message: string }>().message === 'five')).toBe(true);
  });

  it('the serving role cannot create, alter or drop tables', async () => {
    const app = openPostgres(db.appUrl, { max: 1 });
    try {
      await expect(app.query('CREATE TABLE evil (id int)')).rejects.toMatchObject({
        code: '42501',
      });
      await expect(app.query('ALTER TABLE messages ADD COLUMN evil int')).rejects.toMatchObject({
        code: '42501',
      });
      await expect(app.query('DROP TABLE messages')).rejects.toMatchObject({ code: '42501' });
      await expect(app.query('CREATE SCHEMA evil')).rejects.toMatchObject({ code: '42501' });
      // Nor make the schema look newer than it is.
      await expect(
        app.query('UPDATE schema_migrations SET version = version + 100'),
      ).rejects.toMatchObject({ code: '42501' });
      expect(await schemaVersion(app)).toBe(LATEST_VERSION);
      expect(await excessPrivileges(app)).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('stores no plaintext: content is a Fernet token', async () => {
    const { token } = await registerAndLogin(server.app);
    const id = await createdId(server.app, token, { message: 'pg-canary-plaintext' });
    const [row] = await adminQuery<{ content: string }>(
      db.adminUrl,
      'SELECT content FROM messages WHERE id = $1',
      [id],
    );
    expect(row?.content).toMatch(/^gAAAAA[A-Za-z0-9_-]+=*$/);
    expect(row?.content).not.toContain('pg-canary-plaintext');
  });
});

describe('migrations', () => {
  it('are idempotent and record the version', async () => {
    const owner = openPostgres(db.ownerUrl, { max: 1 });
    try {
      expect(await migrate(owner)).toEqual([]);
      expect(await schemaVersion(owner)).toBe(LATEST_VERSION);
    } finally {
      await owner.close();
    }
  });

  it('the server refuses a database whose schema is behind, and never migrates it', async () => {
    const empty = await createTestDatabase({ migrate: false });
    try {
      const config = loadConfig({
        ...testSecrets(),
        DATABASE_URL: empty.appUrl,
        DATA_DIR: server.dataDir,
      });
      await expect(buildApp(config, createLogger('silent'))).rejects.toThrow(/npm run migrate/);
      const tables = await adminQuery(
        empty.adminUrl,
        `SELECT 1 FROM pg_tables WHERE schemaname = 'public'`,
      );
      expect(tables).toHaveLength(0);
    } finally {
      await empty.drop();
    }
  });
});

describe('production refusals that need the database', () => {
  it('refuses to start as a superuser in production', async () => {
    const url = new URL(db.adminUrl).toString();
    const config = loadConfig({
      ...testSecrets(),
      NODE_ENV: 'production',
      DATABASE_URL: url,
      DATA_DIR: server.dataDir,
    });
    await expect(buildApp(config, createLogger('silent'))).rejects.toThrow(
      /superuser.*Refusing to start in production/,
    );
  });

  it('refuses to start as the schema owner in production', async () => {
    const config = loadConfig({
      ...testSecrets(),
      NODE_ENV: 'production',
      DATABASE_URL: db.ownerUrl,
      DATA_DIR: server.dataDir,
    });
    await expect(buildApp(config, createLogger('silent'))).rejects.toThrow(
      /create objects in the schema|owns tables/,
    );
  });

  it('starts in production with the least-privilege role', async () => {
    const config = loadConfig({
      ...testSecrets(),
      NODE_ENV: 'production',
      DATABASE_URL: db.appUrl,
      DATA_DIR: server.dataDir,
    });
    const { app } = await buildApp(config, createLogger('silent'));
    await app.close();
  });
});

describe('PostgreSQL going away and coming back', () => {
  it('answers 503 on /readyz and problem 503s while it is away, then recovers by itself', async () => {
    const proxy = await new TcpProxy('127.0.0.1', 5432).start();
    const url = new URL(db.appUrl);
    url.port = String(proxy.port);
    const flaky = await startTestServer({
      env: { ...testSecrets(), DATABASE_URL: url.toString() },
    });
    try {
      const { token } = await registerAndLogin(flaky.app);
      expect((await flaky.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);

      await proxy.cut();
      const ready = await flaky.app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.headers['content-type']).toContain('application/problem+json');
      const create = await flaky.app.inject({
        method: 'POST',
        url: '/message',
        headers: { authorization: `Bearer ${token}` },
        payload: { message: 'while down' },
      });
      expect(create.statusCode).toBe(503);
      expect(create.body).not.toMatch(/ECONNREFUSED|terminated|pg|SQL|at /);
      expect((await flaky.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);

      await proxy.restore();
      await eventually(
        async () => (await flaky.app.inject({ method: 'GET', url: '/readyz' })).statusCode,
        (s) => s === 200,
      );
      expect((await createdId(flaky.app, token, { message: 'after' })).length).toBe(36);
    } finally {
      await flaky.stop();
      await proxy.stop();
    }
  });
});
