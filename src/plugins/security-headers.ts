import cors from '@fastify/cors';
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

function policy(directives: Record<string, string[]>): string {
  return Object.entries(directives)
    .map(([name, values]) => `${name} ${values.join(' ')}`)
    .join('; ');
}

/** What every response gets: nothing in it may be framed, sniffed, cached or referred. */
const API_CONTENT_SECURITY_POLICY = {
  'default-src': ["'none'"],
  'frame-ancestors': ["'none'"],
  'require-trusted-types-for': ["'script'"],
};

export interface SecurityHeaders {
  /** Every response: API answers, problems, assets. */
  api: Record<string, string>;
  /** Added to HTML documents (the page, the docs viewer), where the browser acts on them. */
  document: Record<string, string>;
}

/**
 * The security headers, computed once: they do not vary by request. Built by hand rather than
 * with helmet, which rebuilds its middleware, CSP parsing included, on every request.
 *
 * A JSON answer is never rendered as a page, so it carries the set the OWASP REST cheat sheet
 * gives for APIs, with the strictest CSP there is (`default-src 'none'`: if a browser is ever
 * made to render one, nothing in it runs). The headers that only steer how a browser treats a
 * document (the page's CSP with Trusted Types, opener isolation, prefetching, the old XSS
 * filter) go on the HTML documents, and the answers stay about 500 bytes smaller.
 * @see https://cheatsheetseries.owasp.org/cheatsheets/REST_Security_Cheat_Sheet.html
 * @see https://owasp.org/www-project-secure-headers/
 */
export function securityHeaders(config: Config): SecurityHeaders {
  const api: Record<string, string> = {
    'content-security-policy': policy(API_CONTENT_SECURITY_POLICY),
    'cross-origin-resource-policy': 'same-origin',
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    // Secrets, tokens and account data must not linger in any cache; assets override this.
    'cache-control': 'no-store',
  };
  // HSTS only means something over TLS; behind a TLS proxy, the proxy sends it.
  if (config.tlsCertFile !== undefined) {
    api['strict-transport-security'] = 'max-age=63072000; includeSubDomains';
  }
  const document: Record<string, string> = {
    'content-security-policy': policy(CONTENT_SECURITY_POLICY),
    'cross-origin-opener-policy': 'same-origin',
    'origin-agent-cluster': '?1',
    'x-dns-prefetch-control': 'off',
    'x-download-options': 'noopen',
    'x-permitted-cross-domain-policies': 'none',
    'x-xss-protection': '0',
  };
  return { api, document };
}

export async function registerSecurityHeaders(
  app: FastifyInstance,
  config: Config,
  headers: SecurityHeaders,
) {
  app.addHook('onRequest', (_request, reply, done) => {
    void reply.headers(headers.api);
    done();
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
}
