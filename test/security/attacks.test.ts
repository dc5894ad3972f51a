import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, createdId, registerAndLogin, uniqueName } from '../helpers/api.js';
import { startTestServer, testSecrets, type TestServer } from '../helpers/server.js';

/** Attacks found by trying to break the service, each pinned to the behaviour it must have. */
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ env: testSecrets() });
});
afterAll(async () => {
  await server.stop();
});

describe('attacks', () => {
  it('never tells a reader with the right passphrase that a live message is gone', async () => {
    const { token } = await registerAndLogin(server.app);
    const id = await createdId(server.app, token, {
      message: 'busy',
      passphrase: 'right one',
      max_views: 20,
    });
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        server.app.inject({
          method: 'POST',
          url: `/message/${id}/reveal`,
          payload: { passphrase: 'right one' },
        }),
      ),
    );
    const statuses = results.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 404)).toEqual([]);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(10);
    for (const res of results.filter((r) => r.statusCode === 429)) {
      expect(res.headers['retry-after']).toBe('1');
    }
  });

  it('counts only wrong answers: right ones under way do not help two typos destroy it', async () => {
    const { token } = await registerAndLogin(server.app);
    const id = await createdId(server.app, token, {
      message: 'shared',
      passphrase: 'right one',
      max_views: 100,
    });
    const reveal = (passphrase: string) =>
      server.app.inject({ method: 'POST', url: `/message/${id}/reveal`, payload: { passphrase } });
    const results = await Promise.all([
      ...Array.from({ length: 9 }, () => reveal('right one')),
      reveal('typo one'),
      reveal('typo two'),
    ]);

    expect(results.map((r) => r.statusCode).filter((s) => s === 404)).toEqual([]);
    const [row] = await server.query<{ failed_attempts: number; checks_in_flight: number }>(
      'SELECT failed_attempts, checks_in_flight FROM messages WHERE id = $1',
      [id],
    );
    expect(row?.failed_attempts).toBeLessThanOrEqual(2);
    expect(row?.checks_in_flight).toBe(0);
  });

  it('does not stay busy for checks a dead process left counted in flight', async () => {
    const { token } = await registerAndLogin(server.app);
    const id = await createdId(server.app, token, { message: 'x', passphrase: 'right one' });
    const reveal = () =>
      server.app.inject({
        method: 'POST',
        url: `/message/${id}/reveal`,
        payload: { passphrase: 'right one' },
      });
    // Nine checks under way and one wrong answer: the gate is full while they are recent ...
    await server.query(
      'UPDATE messages SET checks_in_flight = 9, failed_attempts = 1, checks_since = now() WHERE id = $1',
      [id],
    );
    expect((await reveal()).statusCode).toBe(429);
    // ... and open again once they are older than any check can live: their process died.
    await server.query(
      "UPDATE messages SET checks_since = now() - interval '2 minutes' WHERE id = $1",
      [id],
    );
    const res = await reveal();
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ message: 'x' });
  });

  it('does not stay busy for checks counted before checks_since existed', async () => {
    const { token } = await registerAndLogin(server.app);
    const id = await createdId(server.app, token, { message: 'y', passphrase: 'right one' });
    // A row a crash left full under an older release: a count, but no time to it.
    await server.query(
      'UPDATE messages SET checks_in_flight = 10, checks_since = NULL WHERE id = $1',
      [id],
    );
    const res = await server.app.inject({
      method: 'POST',
      url: `/message/${id}/reveal`,
      payload: { passphrase: 'right one' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ message: 'y' });
  });

  it('treats a message left with ten counted failures as gone, not busy', async () => {
    const { token } = await registerAndLogin(server.app);
    const id = await createdId(server.app, token, { message: 'x', passphrase: 'right one' });
    // As if the process stopped between counting the tenth wrong answer and deleting.
    await server.query('UPDATE messages SET failed_attempts = 10 WHERE id = $1', [id]);
    const res = await server.app.inject({
      method: 'POST',
      url: `/message/${id}/reveal`,
      payload: { passphrase: 'right one' },
    });
    expect(res.statusCode).toBe(404);
    expect(await server.query('SELECT 1 FROM messages WHERE id = $1', [id])).toHaveLength(0);
  });

  it('refuses a password with a lone surrogate, which would collide with U+FFFD', async () => {
    const res = await server.app.inject({
      method: 'POST',
      url: '/auth/register',
      headers: { 'content-type': 'application/json' },
      payload: `{"username":"${uniqueName()}","password":"\\ud800abcdefghijklm"}`,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'invalid_password' });
  });

  it('refuses a body that is not valid UTF-8 instead of storing U+FFFD', async () => {
    const { token } = await registerAndLogin(server.app);
    const res = await server.app.inject({
      method: 'POST',
      url: '/message',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: Buffer.concat([
        Buffer.from('{"message":"caf'),
        Buffer.from([0xe9, 0x20, 0xc0, 0xaf]),
        Buffer.from('"}'),
      ]),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'malformed_json' });
  });

  it.each(['latin1', 'utf-16', 'iso-8859-1'])('refuses JSON in charset %s with 415', async (cs) => {
    const res = await server.app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { 'content-type': `application/json; charset=${cs}` },
      payload: JSON.stringify({ username: 'someone', password: PASSWORD }),
    });
    expect(res.statusCode).toBe(415);
  });

  it('accepts JSON labelled charset=utf-8', async () => {
    const res = await server.app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { 'content-type': 'application/json; charset=UTF-8' },
      payload: JSON.stringify({ username: 'someone', password: PASSWORD }),
    });
    expect(res.statusCode).toBe(401);
  });

  it('answers an anonymous create with 401 before reading the body', async () => {
    const res = await server.app.inject({
      method: 'POST',
      url: '/message',
      headers: { 'content-type': 'application/json' },
      payload: '{"x": 1, "not": "even valid for the schema"',
    });
    expect(res.statusCode).toBe(401);
  });

  it('answers 401, not 500, to a token whose account was deleted', async () => {
    const { token, id } = await registerAndLogin(server.app);
    await server.query('DELETE FROM users WHERE id = $1', [id]);
    const res = await server.app.inject({
      method: 'POST',
      url: '/message',
      headers: { authorization: `Bearer ${token}` },
      payload: { message: 'orphan' },
    });
    expect(res.statusCode).toBe(401);
  });
});
