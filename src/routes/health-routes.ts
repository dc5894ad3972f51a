import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AppError } from '../errors.js';
import type { RouteOptions } from './auth-routes.js';
import { StatusBody, problems } from './schemas.js';
import { UNLIMITED } from '../plugins/rate-limits.js';

const READY_TIMEOUT_MS = 2_000;

const healthRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services }) => {
  app.get(
    '/healthz',
    {
      config: UNLIMITED,
      schema: {
        tags: ['health'],
        summary: 'The process is up',
        response: { 200: StatusBody },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      config: UNLIMITED,
      schema: {
        tags: ['health'],
        summary: 'The database answers',
        response: { 200: StatusBody, ...problems(503) },
      },
    },
    async (request, reply) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          reject(new Error('readiness check timed out'));
        }, READY_TIMEOUT_MS);
      });
      try {
        await Promise.race([services.db.query('SELECT 1'), timeout]);
      } catch {
        request.log.warn({ event: 'not_ready' }, 'Database did not answer');
        void reply.header('retry-after', '5');
        throw new AppError('unavailable', 'The database does not answer');
      } finally {
        clearTimeout(timer);
      }
      return { status: 'ready' };
    },
  );
};

export default healthRoutes;
