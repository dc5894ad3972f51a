import { readFileSync } from 'node:fs';
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config/env.js';
import { AppError } from './errors.js';
import {
  frameworkErrorProblem,
  installErrorHandlers,
  sendProblem,
} from './plugins/error-handler.js';
import { registerRateLimits } from './plugins/rate-limits.js';
import { registerRequestLog } from './plugins/request-log.js';
import { registerSecurityHeaders, securityHeaders } from './plugins/security-headers.js';
import authRoutes from './routes/auth-routes.js';
import { registerDocsRoutes, registerOpenApi } from './routes/docs-routes.js';
import healthRoutes from './routes/health-routes.js';
import messageRoutes from './routes/message-routes.js';
import { registerPageRoutes } from './routes/page-routes.js';
import { Problem } from './routes/schemas.js';
import { openServices, type Services } from './services.js';
import { startPurge } from './messages/purge.js';

/** Bodies other than a message's are small; 16 KiB is ample for credentials. */
const DEFAULT_BODY_LIMIT = 16_384;

export interface BuiltApp {
  app: FastifyInstance;
  services: Services;
}

/**
 * Builds the whole service: opens storage, then registers the cross-cutting plugins and the
 * routes. Listening is the caller's business (server.ts, or tests with inject()).
 */
export async function buildApp(config: Config, logger: Logger): Promise<BuiltApp> {
  const tls =
    config.tlsCertFile === undefined || config.tlsKeyFile === undefined
      ? null
      : {
          cert: readFileSync(config.tlsCertFile),
          key: readFileSync(config.tlsKeyFile),
          minVersion: 'TLSv1.2' as const,
        };
  // With `https` the instance is typed over https.Server; the routes and plugins use nothing
  // that differs, so it is handled as the plain instance type.
  // Router errors are answered before any hook runs, so they set these themselves.
  const headers = securityHeaders(config);
  const app = Fastify({
    loggerInstance: logger,
    // Requests are logged by request-log.ts, with the route pattern instead of the URL.
    logController: new LogController({ disableRequestLogging: true }),
    // A number is a count of trusted hops (proxy-addr), which the typings omit.
    trustProxy: config.trustProxy as boolean | string[],
    bodyLimit: DEFAULT_BODY_LIMIT,
    connectionTimeout: 30_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 5_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: 200 },
    frameworkErrors: (err, _request, reply) => {
      const { code, detail } = frameworkErrorProblem(err);
      void reply.headers(headers.api);
      void sendProblem(reply, code, detail);
    },
    https: tls,
  }) as unknown as FastifyInstance;
  app.setValidatorCompiler(TypeBoxValidatorCompiler);
  // Only JSON is accepted; text/plain would otherwise be parsed into a string.
  app.removeContentTypeParser('text/plain');
  // JSON is UTF-8 (RFC 8259): another charset is refused, and invalid bytes are an error
  // rather than silently turned into U+FFFD, which would not store a message "exactly". An
  // empty body labelled JSON (fetch's usual logout) means "no body". The rest goes to
  // Fastify's parser, which refuses __proto__ and constructor keys.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const charsets = [
      ...(request.headers['content-type'] ?? '').matchAll(/;\s*charset\s*=\s*"?([^";\s]+)/gi),
    ].map((m) => m[1] ?? '');
    if (charsets.some((charset) => !/^utf-?8$/i.test(charset))) {
      done(new AppError('unsupported_media_type', 'JSON must be encoded as UTF-8'));
      return;
    }
    if (body.length === 0) {
      done(null, undefined);
      return;
    }
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      done(new AppError('malformed_json', 'The body is not valid UTF-8'));
      return;
    }
    void parseJson(request, text, done);
  });
  app.addSchema(Problem);
  app.decorateRequest('auth', undefined);

  const services = await openServices(config, app.log);
  app.addHook('onClose', async () => {
    await services.close();
  });

  // While the server drains, each answer closes its connection: a keep-alive client would
  // otherwise hold the process for keepAliveTimeout after its last answer.
  let draining = false;
  app.addHook('preClose', (done) => {
    draining = true;
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (draining) void reply.header('connection', 'close');
    done(null, payload);
  });

  try {
    registerRequestLog(app);
    await registerSecurityHeaders(app, config, headers);
    await registerRateLimits(app, config, services.redis);
    installErrorHandlers(app);
    await registerOpenApi(app);

    const options = { config, services };
    await app.register(healthRoutes, options);
    await app.register(authRoutes, options);
    await app.register(messageRoutes, options);
    await registerDocsRoutes(app, headers.document);
    await registerPageRoutes(app, config.maxMessageBytes, headers.document);
    startPurge(app, services.messages, config.purgeIntervalSeconds);
    await app.ready();
  } catch (err) {
    await app.close();
    throw err;
  }
  return { app, services };
}
