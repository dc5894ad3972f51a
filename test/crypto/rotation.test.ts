import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FernetKey, Keyring } from '../../src/crypto/fernet.js';
import { createMessageCipher } from '../../src/crypto/message-cipher.js';
import { rotateKeys } from '../../src/messages/key-rotation.js';
import { createdId, registerAndLogin } from '../helpers/api.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { startTestServer, testSecrets, type TestServer } from '../helpers/server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('binding ciphertext to its message', () => {
  it('refuses a ciphertext copied into another row', async () => {
    const server = await startTestServer({ env: testSecrets() });
    try {
      const { token } = await registerAndLogin(server.app);
      const victim = await createdId(server.app, token, { message: 'victim secret' });
      const decoy = await createdId(server.app, token, { message: 'decoy' });
      await server.query(
        'UPDATE messages SET content = (SELECT content FROM messages WHERE id = $1) WHERE id = $2',
        [victim, decoy],
      );

      const res = await server.app.inject({ method: 'GET', url: `/message/${decoy}` });

      expect(res.statusCode).toBe(500);
      expect(res.body).not.toContain('victim secret');
      expect(res.json()).toEqual({
        type: 'urn:sealnote:problem:internal',
        title: 'Internal error',
        status: 500,
        code: 'internal',
      });
    } finally {
      await server.stop();
    }
  });
});

describe('a key missing from ENCRYPTION_KEYS', () => {
  it('costs no view: the message opens again once the key is back', async () => {
    const jwt = testSecrets().JWT_SECRET;
    const oldKey = FernetKey.generate();
    const first = await startTestServer({ env: { JWT_SECRET: jwt, ENCRYPTION_KEYS: oldKey } });
    const { token } = await registerAndLogin(first.app);
    const id = await createdId(first.app, token, { message: 'keep me' });
    await first.app.close();

    const wrong = await startTestServer({
      env: { JWT_SECRET: jwt, ENCRYPTION_KEYS: FernetKey.generate() },
      dataDir: first.dataDir,
    });
    const failed = await wrong.app.inject({ method: 'GET', url: `/message/${id}` });
    expect(failed.statusCode).toBe(500);
    expect(wrong.logs.some((l) => l.includes('"event":"message_undecryptable"'))).toBe(true);
    await wrong.app.close();

    const fixed = await startTestServer({
      env: { JWT_SECRET: jwt, ENCRYPTION_KEYS: oldKey },
      dataDir: first.dataDir,
    });
    try {
      const res = await fixed.app.inject({ method: 'GET', url: `/message/${id}` });
      expect(res.json()).toMatchObject({ message: 'keep me', views_left: 0 });
    } finally {
      await fixed.stop();
      await wrong.stop();
      await first.stop();
    }
  });
});

describe('key rotation on PostgreSQL', () => {
  let db: TestDatabase;
  let server: TestServer;
  const oldKey = FernetKey.generate();
  const newKey = FernetKey.generate();
  const secrets = testSecrets();

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await server.stop();
    await db.drop();
  });

  it('keeps old messages readable after a key is added, and re-encrypts them all under it', async () => {
    const before = await startTestServer({
      env: { JWT_SECRET: secrets.JWT_SECRET, ENCRYPTION_KEYS: oldKey, DATABASE_URL: db.appUrl },
    });
    const { token } = await registerAndLogin(before.app);
    const ids = [];
    for (let i = 0; i < 5; i += 1)
      ids.push(await createdId(before.app, token, { message: `old ${i}`, max_views: 3 }));
    await before.stop();

    server = await startTestServer({
      env: {
        JWT_SECRET: secrets.JWT_SECRET,
        ENCRYPTION_KEYS: `${newKey},${oldKey}`,
        DATABASE_URL: db.appUrl,
      },
    });
    const first = await server.app.inject({ method: 'GET', url: `/message/${ids[0]}` });
    expect(first.json()).toMatchObject({ message: 'old 0' });

    // The command a person runs, while the server keeps serving.
    execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/rotate-keys.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        JWT_SECRET: secrets.JWT_SECRET,
        ENCRYPTION_KEYS: `${newKey},${oldKey}`,
        DATABASE_URL: db.appUrl,
      },
    });

    const rows = await server.query<{ id: string; content: string }>(
      'SELECT id, content FROM messages WHERE content IS NOT NULL',
    );
    expect(rows).toHaveLength(5);
    const onlyNew = new Keyring([newKey]);
    for (const row of rows) expect(onlyNew.isCurrent(row.content)).toBe(true);

    // Old key retired: everything still opens.
    await server.stop();
    server = await startTestServer({
      env: { JWT_SECRET: secrets.JWT_SECRET, ENCRYPTION_KEYS: newKey, DATABASE_URL: db.appUrl },
    });
    for (const [i, id] of ids.entries()) {
      const res = await server.app.inject({ method: 'GET', url: `/message/${id}` });
      expect(res.json()).toMatchObject({ message: `old ${i}` });
    }
  });

  it('never undoes a view taken during rotation', async () => {
    const cipher = createMessageCipher([newKey]);
    const { token } = await registerAndLogin(server.app);
    const id = await createdId(server.app, token, { message: 'x' });
    await server.app.inject({ method: 'GET', url: `/message/${id}` });
    const report = await rotateKeys(server.services.db, cipher);
    expect(report.failed).toBe(0);
    expect((await server.app.inject({ method: 'GET', url: `/message/${id}` })).statusCode).toBe(
      404,
    );
  });
});

describe('key rotation on the embedded database', () => {
  it('happens in the background when the server starts with a new first key', async () => {
    const oldKey = FernetKey.generate();
    const newKey = FernetKey.generate();
    const jwt = testSecrets().JWT_SECRET;
    const first = await startTestServer({ env: { JWT_SECRET: jwt, ENCRYPTION_KEYS: oldKey } });
    const { token } = await registerAndLogin(first.app);
    const id = await createdId(first.app, token, { message: 'embedded old', max_views: 2 });
    await first.app.close();

    const second = await startTestServer({
      env: { JWT_SECRET: jwt, ENCRYPTION_KEYS: `${newKey},${oldKey}` },
      dataDir: first.dataDir,
    });
    try {
      const current = new Keyring([newKey]);
      for (let i = 0; i < 100; i += 1) {
        const [row] = await second.query<{ content: string }>(
          'SELECT content FROM messages WHERE id = $1',
          [id],
        );
        if (row !== undefined && current.isCurrent(row.content)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const [row] = await second.query<{ content: string }>(
        'SELECT content FROM messages WHERE id = $1',
        [id],
      );
      expect(current.isCurrent(row?.content ?? '')).toBe(true);
      expect(second.logs.some((l) => l.includes('"event":"keys_rotated"'))).toBe(true);
      const res = await second.app.inject({ method: 'GET', url: `/message/${id}` });
      expect(res.json()).toMatchObject({ message: 'embedded old' });
    } finally {
      await second.stop();
      await first.stop();
    }
  });
});
