import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Config } from '../config/env.js';
import { AppError } from '../errors.js';
import { requireAuth } from '../plugins/auth-guard.js';
import { authRateLimit } from '../plugins/rate-limits.js';
import type { Services } from '../services.js';
import {
  AccountBody,
  Credentials,
  EmptyBody,
  TokenBody,
  bodyDefaultsToEmpty,
  problems,
} from './schemas.js';

export interface RouteOptions {
  config: Config;
  services: Services;
}

const authRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { config, services }) => {
  const { accounts, tokens, revocations } = services;
  const guard = requireAuth(services);
  const limited = authRateLimit(app, config);

  app.post(
    '/auth/register',
    {
      ...limited,
      schema: {
        tags: ['auth'],
        summary: 'Create an account',
        body: Credentials,
        response: { 201: AccountBody, ...problems(400, 409, 413, 415, 429) },
      },
    },
    async (request, reply) => {
      const account = await accounts.register(request.body.username, request.body.password);

      request.log.info({ event: 'account_registered', user_id: account.id }, 'Account created');
      return reply.code(201).send(account);
    },
  );

  app.post(
    '/auth/login',
    {
      ...limited,
      schema: {
        tags: ['auth'],
        summary: 'Exchange a username and password for an access token',
        body: Credentials,
        response: { 200: TokenBody, ...problems(400, 401, 413, 415, 429) },
      },
    },
    async (request) => {
      const account = await accounts.authenticate(request.body.username, request.body.password);
      if (account === undefined) {
        request.log.info({ event: 'login_failed' }, 'Login failed');
        throw new AppError('invalid_credentials');
      }

      const { token, expiresIn } = tokens.issue(account.id);
      request.log.info({ event: 'login_succeeded', user_id: account.id }, 'Logged in');
      return { access_token: token, token_type: 'Bearer' as const, expires_in: expiresIn };
    },
  );

  app.post(
    '/auth/logout',
    {
      ...limited,
      preParsing: guard,
      preValidation: bodyDefaultsToEmpty,
      schema: {
        tags: ['auth'],
        summary: 'Revoke the access token used for this request',
        body: EmptyBody,
        security: [{ bearer: [] }],
        response: { 204: Type.Null(), ...problems(401, 429) },
      },
    },
    async (request, reply) => {
      const auth = request.auth;
      if (auth === undefined) throw new AppError('unauthorized');

      await revocations.revoke(auth.jti, auth.exp);
      request.log.info({ event: 'token_revoked', user_id: auth.sub }, 'Token revoked');
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/auth/me',
    {
      ...limited,
      preParsing: guard,
      schema: {
        tags: ['auth'],
        summary: 'The account of the access token',
        security: [{ bearer: [] }],
        response: { 200: AccountBody, ...problems(401, 429) },
      },
    },
    async (request) => {
      const account = request.auth && (await accounts.find(request.auth.sub));
      if (account === undefined) throw new AppError('unauthorized');
      return account;
    },
  );
};

export default authRoutes;
