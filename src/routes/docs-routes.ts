import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { DOCS_CONTENT_SECURITY_POLICY } from '../plugins/security-headers.js';

const DOCS_CSP = Object.entries(DOCS_CONTENT_SECURITY_POLICY)
  .map(([name, values]) => `${name} ${values.join(' ')}`)
  .join('; ');

/** Registers the OpenAPI generator; must run before the routes it describes. */
export async function registerOpenApi(app: FastifyInstance) {
  await app.register(swagger, {
    exposeHeadRoutes: true,
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Sealnote',
        version: '1.0.0',
        description: 'Secret messages that burn after reading.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
    },
  });
}

export async function registerDocsRoutes(
  app: FastifyInstance,
  documentHeaders: Record<string, string>,
) {
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: false,
    uiConfig: { url: '/openapi.json', validatorUrl: null },
    uiHooks: {
      onRequest: (_request, reply, done) => {
        void reply.headers(documentHeaders).header('content-security-policy', DOCS_CSP);
        done();
      },
    },
  });
}
