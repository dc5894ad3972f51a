import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/env.js';

/**
 * The page's policy: scripts, styles and connections only from Sealnote itself, no inline
 * script, and every HTML sink behind a Trusted Types policy (ours, which runs DOMPurify, and
 * DOMPurify's own).
 * @see https://w3c.github.io/trusted-types/dist/spec/
 */
export const CONTENT_SECURITY_POLICY = {
  'default-src': ["'none'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'"],
  'connect-src': ["'self'"],
  'manifest-src': ["'self'"],
  'base-uri': ["'none'"],
  'form-action': ["'none'"],
  'frame-ancestors': ["'none'"],
  'require-trusted-types-for': ["'script'"],
  'trusted-types': ['sealnote', 'dompurify'],
};

/** The API viewer at /docs renders with React and inline styles; it holds no secrets. */
export const DOCS_CONTENT_SECURITY_POLICY = {
  'default-src': ["'none'"],
  'script-src': ["'self'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'base-uri': ["'none'"],
  'form-action': ["'none'"],
  'frame-ancestors': ["'none'"],
};

export async function registerSecurityHeaders(app: FastifyInstance, config: Config) {
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
    // HSTS only means something over TLS; behind a TLS proxy, the proxy sends it.
    strictTransportSecurity:
      config.tlsCertFile === undefined ? false : { maxAge: 63_072_000, includeSubDomains: true },
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    xFrameOptions: { action: 'deny' },
  });

  // Exact origins only: a string list is compared with ===, so look-alikes never match.
  await app.register(cors, {
    origin: config.corsOrigins.length === 0 ? false : config.corsOrigins,
    methods: ['GET', 'POST', 'DELETE'],
    allowedHeaders: ['Content-Type', 'Authorization'],
    credentials: false,
    maxAge: 600,
    strictPreflight: true,
  });

  // Secrets, tokens and account data must not linger in any cache; built assets may.
  app.addHook('onSend', async (request, reply) => {
    if (!request.url.startsWith('/assets/')) void reply.header('cache-control', 'no-store');
    reply.removeHeader('x-powered-by');
  });
}
