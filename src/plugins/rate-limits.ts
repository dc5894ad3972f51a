import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { Config } from '../config/env.js';
import { AppError } from '../errors.js';

const MINUTE_MS = 60_000;

/**
 * Per-client limits keyed on the client address, which Fastify takes from forwarding headers
 * only when TRUST_PROXY names the proxies: with it unset, a client cannot pick its own key.
 * With REDIS_URL the counters are shared by all replicas; if Redis is away requests pass
 * (skipOnError) and the Redis client logs the fault, so an outage there is not one here.
 */
export async function registerRateLimits(
  app: FastifyInstance,
  config: Config,
  redis: Redis | undefined,
) {
  await app.register(rateLimit, {
    global: true,
    max: config.rateLimitMax,
    timeWindow: MINUTE_MS,
    redis,
    nameSpace: 'sealnote:rate:',
    skipOnError: true,
    // The x-ratelimit-* headers only on a refusal (with Retry-After), not on every response.
    addHeadersOnExceeding: {
      'x-ratelimit-limit': false,
      'x-ratelimit-remaining': false,
      'x-ratelimit-reset': false,
    },
    errorResponseBuilder: (_request, context) =>
      new AppError('rate_limited', `Try again in ${context.after}`),
    onExceeded: (request: FastifyRequest) => {
      request.log.warn(
        { event: 'rate_limit_exceeded', route: request.routeOptions.url ?? 'unmatched' },
        'Rate limit exceeded',
      );
    },
  });
}

/**
 * The stricter per-client limit of the /auth routes, against password guessing: one counter
 * for all of them, so register, login and logout cannot each be used up in turn. The routes
 * opt out of the general limit (`config`) and run this as their onRequest hook.
 */
export function authRateLimit(app: FastifyInstance, config: Config) {
  const limiter = app.createRateLimit({
    max: config.authRateLimitMax,
    timeWindow: MINUTE_MS,
    keyGenerator: (request) => `auth:${request.ip}`,
  });
  return {
    config: { rateLimit: false as const },
    onRequest: async (request: FastifyRequest, reply: FastifyReply) => {
      const result = await limiter(request);
      if (result.isAllowed || !result.isExceeded) return;
      request.log.warn(
        { event: 'rate_limit_exceeded', route: request.routeOptions.url ?? 'unmatched' },
        'Rate limit exceeded',
      );
      void reply.header('retry-after', String(Math.max(1, result.ttlInSeconds)));
      throw new AppError('rate_limited', `Try again in ${Math.max(1, result.ttlInSeconds)} s`);
    },
  };
}

/** Health probes are never limited: a probe turned away would take a healthy replica out. */
export const UNLIMITED = { rateLimit: false as const };

/**
 * A cap per account on creating messages, so that one stolen or scripted account cannot fill
 * the database from many addresses. Returns the seconds to wait, or 0 when allowed.
 */
export function accountCreateLimiter(app: FastifyInstance, config: Config) {
  const limiter = app.createRateLimit({
    max: config.createRateLimitMax,
    timeWindow: MINUTE_MS,
    keyGenerator: (request) => `account:${request.auth?.sub ?? 'none'}`,
  });
  return async (request: FastifyRequest): Promise<number> => {
    const result = await limiter(request);
    if (result.isAllowed || !result.isExceeded) return 0;
    request.log.warn({ event: 'account_rate_limit_exceeded' }, 'Per-account limit exceeded');
    return Math.max(1, result.ttlInSeconds);
  };
}
