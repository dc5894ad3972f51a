import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AccessClaims } from '../accounts/tokens.js';
import { AppError } from '../errors.js';
import type { Services } from '../services.js';

declare module 'fastify' {
  interface FastifyRequest {
    auth: AccessClaims | undefined;
  }
}

function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/i.exec(header.trim());
  return match?.[1];
}

/**
 * A preParsing hook that admits only requests with a valid, unrevoked access token. It runs
 * before the body is read, so an anonymous client cannot make the server buffer and parse a
 * large body only to be told 401.
 */
export function requireAuth(services: Services) {
  return async <T>(request: FastifyRequest, _reply: FastifyReply, payload: T): Promise<T> => {
    const token = bearerToken(request);
    const claims = token === undefined ? undefined : services.tokens.verify(token);
    if (claims === undefined || (await services.revocations.isRevoked(claims.jti))) {
      throw new AppError('unauthorized');
    }
    request.auth = claims;
    return payload;
  };
}
