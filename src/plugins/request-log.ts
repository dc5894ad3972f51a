import type { FastifyInstance } from 'fastify';

/**
 * One line per request with the route pattern, never the raw URL: a message id in a URL is
 * the capability to read that message.
 */
export function registerRequestLog(app: FastifyInstance): void {
  // The level is fixed at start (LOG_LEVEL); above info there is nothing to build.
  if (!['trace', 'debug', 'info'].includes(app.log.level)) return;
  app.addHook('onResponse', (request, reply, done) => {
    request.log.info(
      {
        event: 'http_request',
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_code: reply.statusCode,
        duration_ms: Math.round(reply.elapsedTime),
        client_ip: request.ip,
      },
      'request completed',
    );
    done();
  });
}
