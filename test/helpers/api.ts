import { randomBytes } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

export const PASSWORD = 'a long enough password 🔑';

export function uniqueName(prefix = 'user'): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

export async function registerAndLogin(
  app: FastifyInstance,
  username = uniqueName(),
  password = PASSWORD,
): Promise<{ token: string; username: string; id: string }> {
  const registered = await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { username, password },
  });
  if (registered.statusCode !== 201) throw new Error(`register: ${registered.body}`);
  const login = await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { username, password },
  });
  if (login.statusCode !== 200) throw new Error(`login: ${login.body}`);
  const token = login.json<{ access_token: string }>().access_token;
  return { token, username, id: registered.json<{ id: string }>().id };
}

export async function createMessage(
  app: FastifyInstance,
  token: string,
  body: Record<string, unknown>,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: '/message',
    headers: { authorization: `Bearer ${token}` },
    payload: body,
  });
}

export async function createdId(
  app: FastifyInstance,
  token: string,
  body: Record<string, unknown>,
): Promise<string> {
  const res = await createMessage(app, token, body);
  if (res.statusCode !== 201) throw new Error(`create: ${res.statusCode} ${res.body}`);
  return res.json<{ id: string }>().id;
}
