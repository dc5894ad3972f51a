import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createdId, createMessage, registerAndLogin } from '../helpers/api.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { startTestServer, testSecrets, type TestServer } from '../helpers/server.js';

// The same behaviour on both engines: PGlite is PostgreSQL 18, the machine's server is 15.
describe.each(['embedded', 'postgres'] as const)('on the %s database', (engine) => {
  let server: TestServer;
  let token: string;

  let database: TestDatabase | undefined;

  beforeAll(async () => {
    database = engine === 'postgres' ? await createTestDatabase() : undefined;
    server = await startTestServer({
      env: { ...testSecrets(), MAX_MESSAGE_BYTES: '1024', DATABASE_URL: database?.appUrl },
    });
    ({ token } = await registerAndLogin(server.app));
  });
  afterAll(async () => {
    await server.stop();
    await database?.drop();
  });

  const read = (id: string) => server.app.inject({ method: 'GET', url: `/message/${id}` });
  const reveal = (id: string, body?: unknown) =>
    server.app.inject({
      method: 'POST',
      url: `/message/${id}/reveal`,
      ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
    });

  describe('creating a message', () => {
    it('returns 201 with id, expiry, views and a Location header', async () => {
      const before = Date.now();
      const res = await createMessage(server.app, token, { message: 'hi' });

      expect(res.statusCode).toBe(201);
      const body = res.json<{ id: string; expires_at: string; max_views: number }>();
      expect(body.id).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      expect(body.max_views).toBe(1);
      const expires = Date.parse(body.expires_at);
      expect(expires - before).toBeGreaterThan(86_390_000);
      expect(expires - before).toBeLessThan(86_410_000);
      expect(res.headers.location).toBe(`/message/${body.id}`);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(Object.keys(body).sort()).toEqual(['expires_at', 'id', 'max_views']);
    });

    it('requires a Bearer token', async () => {
      const res = await server.app.inject({
        method: 'POST',
        url: '/message',
        payload: { message: 'x' },
      });
      expect(res.statusCode).toBe(401);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.headers['www-authenticate']).toBe('Bearer');
    });

    it.each([
      ['an unknown field', { message: 'x', owner: 'me' }],
      ['an operator object as the message', { message: { $ne: null } }],
      ['a number as the message', { message: 42 }],
      ['an empty message', { message: '' }],
      ['a string for max_views', { message: 'x', max_views: '2' }],
      ['max_views 0', { message: 'x', max_views: 0 }],
      ['max_views 101', { message: 'x', max_views: 101 }],
      ['a fractional max_views', { message: 'x', max_views: 1.5 }],
      ['expires_in 59', { message: 'x', expires_in: 59 }],
      ['expires_in over 30 days', { message: 'x', expires_in: 2_592_001 }],
      ['an empty passphrase', { message: 'x', passphrase: '' }],
      ['a passphrase of 257 characters', { message: 'x', passphrase: 'p'.repeat(257) }],
      ['a lone surrogate', { message: 'a\ud800b' }],
    ])('rejects %s with 400 and stores nothing', async (_name, body) => {
      const count = async () =>
        (await server.query<{ count: number }>('SELECT count(*)::int AS count FROM messages'))[0]
          ?.count;
      const before = await count();
      const res = await createMessage(server.app, token, body);

      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({
        status: 400,
        type: expect.any(String),
        title: expect.any(String),
      });
      expect(await count()).toBe(before);
    });

    it('names an unknown field in words a client understands', async () => {
      const res = await createMessage(server.app, token, { message: 'x', owner: 'me' });

      expect(res.statusCode).toBe(400);
      const detail = String(res.json<{ detail?: unknown }>().detail);
      expect(detail).toContain('body/owner: is not a known field');
      expect(detail).not.toContain('schema is false');
    });

    it('accepts the bounds of expires_in and max_views', async () => {
      for (const body of [
        { message: 'x', expires_in: 60, max_views: 1 },
        { message: 'x', expires_in: 2_592_000, max_views: 100 },
      ]) {
        expect((await createMessage(server.app, token, body)).statusCode).toBe(201);
      }
    });

    it('takes a message of exactly MAX_MESSAGE_BYTES and refuses one byte more with 413', async () => {
      const exact = 'é'.repeat(512); // 1024 bytes of UTF-8
      const ok = await createMessage(server.app, token, { message: exact });
      expect(ok.statusCode).toBe(201);
      const back = await read(ok.json<{ id: string }>().id);
      expect(back.json<{ message: string }>().message).toBe(exact);

      const over = await createMessage(server.app, token, { message: `${exact}a` });
      expect(over.statusCode).toBe(413);
      expect(over.json()).toMatchObject({ code: 'message_too_large', status: 413 });
    });

    it('refuses a body that is not JSON with 415', async () => {
      const res = await server.app.inject({
        method: 'POST',
        url: '/message',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' },
        payload: 'hello',
      });
      expect(res.statusCode).toBe(415);
      expect(res.json()).toMatchObject({ code: 'unsupported_media_type' });
    });

    it('answers malformed JSON with 400 and does not echo the body', async () => {
      const res = await server.app.inject({
        method: 'POST',
        url: '/message',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        payload: '{"message": "canary-secret-in-broken-json',
      });
      expect(res.statusCode).toBe(400);
      expect(res.body).not.toContain('canary-secret');
      expect(server.logs.join('\n')).not.toContain('canary-secret');
    });

    it('refuses prototype-polluting keys', async () => {
      const res = await server.app.inject({
        method: 'POST',
        url: '/message',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        payload: '{"message":"x","__proto__":{"admin":true}}',
      });
      expect(res.statusCode).toBe(400);
      expect(({} as Record<string, unknown>).admin).toBeUndefined();
    });
  });

  describe('reading a message', () => {
    it('round-trips emoji, right-to-left text and NUL bytes exactly', async () => {
      const text = 'NUL:\u0000 emoji:🔥👩🏽‍💻 rtl:שלום عربى \r\n tab:\t end';
      const id = await createdId(server.app, token, { message: text });
      const res = await read(id);

      expect(res.statusCode).toBe(200);
      const body = res.json<Record<string, unknown>>();
      expect(body.message).toBe(text);
      expect(Object.keys(body).sort()).toEqual([
        'created_at',
        'expires_at',
        'id',
        'message',
        'views_left',
      ]);
      expect(body.views_left).toBe(0);
      expect(res.headers['cache-control']).toBe('no-store');
    });

    it('gives the same 404 for unknown, used-up and expired messages', async () => {
      const unknown = await read(randomUUID());
      const usedId = await createdId(server.app, token, { message: 'once' });
      await read(usedId);
      const used = await read(usedId);
      const expiredId = await createdId(server.app, token, { message: 'old' });
      await server.query(
        `UPDATE messages SET expires_at = now() - interval '1 second' WHERE id = $1`,
        [expiredId],
      );
      const expired = await read(expiredId);

      for (const res of [unknown, used, expired]) {
        expect(res.statusCode).toBe(404);
        expect(res.body).toBe(unknown.body);
      }
    });

    it('hides an expired message at once, before any purge', async () => {
      const id = await createdId(server.app, token, { message: 'soon gone', max_views: 5 });
      await server.query(`UPDATE messages SET expires_at = now() WHERE id = $1`, [id]);
      expect((await read(id)).statusCode).toBe(404);
      expect((await server.app.inject({ method: 'HEAD', url: `/message/${id}` })).statusCode).toBe(
        404,
      );
    });

    it('counts views exactly', async () => {
      const id = await createdId(server.app, token, { message: 'three', max_views: 3 });
      const seen = [];
      for (let i = 0; i < 4; i += 1) seen.push(await read(id));
      expect(seen.map((r) => r.statusCode)).toEqual([200, 200, 200, 404]);
      expect(seen.slice(0, 3).map((r) => r.json<{ views_left: number }>().views_left)).toEqual([
        2, 1, 0,
      ]);
    });

    it('erases the ciphertext in the statement that takes the last view', async () => {
      const id = await createdId(server.app, token, { message: 'burn me' });
      await read(id);
      const rows = await server.query<{ content: string | null }>(
        'SELECT content FROM messages WHERE id = $1',
        [id],
      );
      expect(rows.every((r) => r.content === null)).toBe(true);
    });

    it('gives exactly one 200 to 50 concurrent reads of a one-view message', async () => {
      const id = await createdId(server.app, token, { message: 'race' });
      const results = await Promise.all(Array.from({ length: 50 }, () => read(id)));
      expect(results.filter((r) => r.statusCode === 200)).toHaveLength(1);
      expect(results.filter((r) => r.statusCode === 404)).toHaveLength(49);
    });

    it('HEAD never consumes a view', async () => {
      const id = await createdId(server.app, token, { message: 'peek' });
      for (let i = 0; i < 3; i += 1) {
        const head = await server.app.inject({ method: 'HEAD', url: `/message/${id}` });
        expect(head.statusCode).toBe(200);
        expect(head.body).toBe('');
      }
      expect((await read(id)).json<{ message: string }>().message).toBe('peek');
    });

    it.each([
      ['the review example', '{"$where": "1 == 1"}'],
      ['SQL', "1' OR '1'='1"],
      ['a UUID with a suffix', `${randomUUID()}x`],
      ['a UUID with SQL after it', `${randomUUID()}' OR 1=1 --`],
      ['a short hex string', 'deadbeef'],
      ['an empty braces id', '{}'],
      ['a UUID without dashes', randomUUID().replaceAll('-', '')],
    ])('answers 400 for a malformed id (%s) on every route', async (_name, raw) => {
      const id = encodeURIComponent(raw);
      const responses = await Promise.all([
        read(id),
        reveal(id),
        server.app.inject({ method: 'HEAD', url: `/message/${id}` }),
        server.app.inject({
          method: 'DELETE',
          url: `/message/${id}`,
          headers: { authorization: `Bearer ${token}` },
        }),
      ]);
      for (const res of responses) expect(res.statusCode).toBe(400);
      expect(responses[0].json()).toMatchObject({ code: 'malformed_id' });
    });

    it('accepts an upper-case UUID as the same message', async () => {
      const id = await createdId(server.app, token, { message: 'case' });
      const res = await read(id.toUpperCase());
      expect(res.statusCode).toBe(200);
    });
  });

  describe('passphrases', () => {
    it('asks for the passphrase on GET and consumes nothing', async () => {
      const id = await createdId(server.app, token, {
        message: 'gated',
        passphrase: 'open sesame',
      });
      const first = await read(id);
      expect(first.statusCode).toBe(401);
      expect(first.json()).toMatchObject({ code: 'passphrase_required' });
      expect((await reveal(id)).json()).toMatchObject({ code: 'passphrase_required' });

      const ok = await reveal(id, { passphrase: 'open sesame' });
      expect(ok.statusCode).toBe(200);
      expect(ok.json<{ message: string }>().message).toBe('gated');
    });

    it('refuses a wrong passphrase with 401 and consumes nothing', async () => {
      const id = await createdId(server.app, token, { message: 'gated', passphrase: 'right one' });
      const wrong = await reveal(id, { passphrase: 'wrong one' });
      expect(wrong.statusCode).toBe(401);
      expect(wrong.json()).toMatchObject({ code: 'wrong_passphrase' });
      expect((await reveal(id, { passphrase: 'right one' })).statusCode).toBe(200);
    });

    it('compares passphrases after NFC normalisation', async () => {
      const id = await createdId(server.app, token, { message: 'nfc', passphrase: 'cafe\u0301' });
      expect((await reveal(id, { passphrase: 'caf\u00e9' })).statusCode).toBe(200);
    });

    it('stores only an Argon2id hash of the passphrase', async () => {
      const id = await createdId(server.app, token, {
        message: 'x',
        passphrase: 'plain-canary-pass',
      });
      const [row] = await server.query<{ passphrase_hash: string }>(
        'SELECT passphrase_hash FROM messages WHERE id = $1',
        [id],
      );
      expect(row?.passphrase_hash).toMatch(/^\$argon2id\$/);
      expect(row?.passphrase_hash).not.toContain('plain-canary-pass');
    });

    it('destroys the message at the tenth wrong passphrase', async () => {
      const id = await createdId(server.app, token, { message: 'guess me', passphrase: 'secret' });
      for (let i = 0; i < 9; i += 1) {
        expect((await reveal(id, { passphrase: `guess ${i}` })).statusCode).toBe(401);
      }
      const tenth = await reveal(id, { passphrase: 'guess 9' });
      expect(tenth.statusCode).toBe(401);
      expect((await reveal(id, { passphrase: 'secret' })).statusCode).toBe(404);
      expect(await server.query('SELECT 1 FROM messages WHERE id = $1', [id])).toHaveLength(0);
      expect(
        server.logs.some((l) => l.includes('"event":"message_destroyed_after_failed_passphrases"')),
      ).toBe(true);
    });

    it('lets the right passphrase through after nine wrong ones', async () => {
      const id = await createdId(server.app, token, {
        message: 'still here',
        passphrase: 'secret',
      });
      for (let i = 0; i < 9; i += 1) await reveal(id, { passphrase: `guess ${i}` });
      expect((await reveal(id, { passphrase: 'secret' })).statusCode).toBe(200);
    });

    it('counts parallel wrong guesses exactly: 30 at once get no more than 10 tries', async () => {
      const id = await createdId(server.app, token, { message: 'parallel', passphrase: 'secret' });
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) => reveal(id, { passphrase: `guess ${i}` })),
      );
      expect(results.filter((r) => r.statusCode === 401)).toHaveLength(10);
      // The rest find ten checks under way (429, try again) or the message destroyed (404).
      expect(results.filter((r) => [404, 429].includes(r.statusCode))).toHaveLength(20);
      expect((await reveal(id, { passphrase: 'secret' })).statusCode).toBe(404);
    });

    it('reveals an unprotected message by POST with an empty body', async () => {
      const id = await createdId(server.app, token, { message: 'plain' });
      const res = await server.app.inject({ method: 'POST', url: `/message/${id}/reveal` });
      expect(res.statusCode).toBe(200);
    });
  });

  describe('owners', () => {
    it('lists live messages with metadata only and never content', async () => {
      const owner = await registerAndLogin(server.app);
      const a = await createdId(server.app, owner.token, { message: 'list-canary', max_views: 3 });
      const b = await createdId(server.app, owner.token, { message: 'gone', passphrase: 'pp' });
      await reveal(b, { passphrase: 'pp' });

      const res = await server.app.inject({
        method: 'GET',
        url: '/messages',
        headers: { authorization: `Bearer ${owner.token}` },
      });
      expect(res.statusCode).toBe(200);
      expect(res.body).not.toContain('list-canary');
      const { items } = res.json<{ items: Record<string, unknown>[] }>();
      expect(items).toHaveLength(1);
      expect(items[0]).toMatchObject({ id: a, max_views: 3, views_left: 3, has_passphrase: false });
      expect(Object.keys(items[0] ?? {}).sort()).toEqual([
        'created_at',
        'expires_at',
        'has_passphrase',
        'id',
        'max_views',
        'views_left',
      ]);
    });

    it("deletes an owner's message and answers 404 to anyone else", async () => {
      const owner = await registerAndLogin(server.app);
      const other = await registerAndLogin(server.app);
      const id = await createdId(server.app, owner.token, { message: 'mine' });
      const del = (t: string) =>
        server.app.inject({
          method: 'DELETE',
          url: `/message/${id}`,
          headers: { authorization: `Bearer ${t}` },
        });

      const foreign = await del(other.token);
      expect(foreign.statusCode).toBe(404);
      const missing = await server.app.inject({
        method: 'DELETE',
        url: `/message/${randomUUID()}`,
        headers: { authorization: `Bearer ${other.token}` },
      });
      expect(foreign.body).toBe(missing.body);

      expect((await del(owner.token)).statusCode).toBe(204);
      expect((await read(id)).statusCode).toBe(404);
    });

    it('requires a token to list or delete', async () => {
      expect((await server.app.inject({ method: 'GET', url: '/messages' })).statusCode).toBe(401);
      expect(
        (await server.app.inject({ method: 'DELETE', url: `/message/${randomUUID()}` })).statusCode,
      ).toBe(401);
    });
  });

  describe('purge', () => {
    it('deletes expired and spent rows', async () => {
      const spent = await createdId(server.app, token, { message: 'spent' });
      await read(spent);
      const expired = await createdId(server.app, token, { message: 'expired' });
      await server.query(
        `UPDATE messages SET expires_at = now() - interval '1 minute' WHERE id = $1`,
        [expired],
      );
      const live = await createdId(server.app, token, { message: 'live' });

      const deleted = await server.services.messages.purge();

      expect(deleted).toBeGreaterThanOrEqual(2);
      const left = await server.query<{ id: string }>(
        'SELECT id FROM messages WHERE id = ANY($1::uuid[])',
        [[spent, expired, live]],
      );
      expect(left.map((r) => r.id)).toEqual([live]);
    });
  });
});

describe('the periodic purge', () => {
  it('deletes expired rows by itself', async () => {
    const server = await startTestServer({
      env: { ...testSecrets(), PURGE_INTERVAL_SECONDS: '1' },
    });
    try {
      const { token } = await registerAndLogin(server.app);
      const id = await createdId(server.app, token, { message: 'expiring' });
      await server.query(
        `UPDATE messages SET expires_at = now() - interval '1 second' WHERE id = $1`,
        [id],
      );
      let left = 1;
      for (let i = 0; i < 100 && left > 0; i += 1) {
        await new Promise((r) => setTimeout(r, 100));
        left = (await server.query('SELECT 1 FROM messages WHERE id = $1', [id])).length;
      }
      expect(left).toBe(0);
      expect(server.logs.some((l) => l.includes('"event":"messages_purged"'))).toBe(true);
    } finally {
      await server.stop();
    }
  });
});
