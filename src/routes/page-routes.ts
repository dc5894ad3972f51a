import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { StartupError } from '../services.js';

/** Built by `npm run build:web`; the same path from src/ (tsx) and from dist/ (node). */
export const WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));

const PLACEHOLDER = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sealnote</title></head>
<body><h1>Sealnote</h1><p>The web page is not built. Run <code>npm run build</code>.</p></body>
</html>
`;

/**
 * The web page at / and /m/{id}. Serving it fetches nothing about the message: the page asks
 * only when the reader clicks reveal, so link previewers cannot burn it.
 */
export async function registerPageRoutes(
  app: FastifyInstance,
  maxMessageBytes: number,
  documentHeaders: Record<string, string>,
) {
  const indexPath = `${WEB_DIST}index.html`;
  const built = existsSync(indexPath);
  const page = built ? readFileSync(indexPath, 'utf8') : PLACEHOLDER;

  const sendPage = async (_request: FastifyRequest, reply: FastifyReply) =>
    reply.headers(documentHeaders).type('text/html; charset=utf-8').send(page);
  app.get('/', { schema: { hide: true } }, sendPage);
  app.get('/m/:id', { schema: { hide: true } }, sendPage);

  if (built) {
    await app.register(fastifyStatic, {
      root: `${WEB_DIST}assets`,
      prefix: '/assets/',
      wildcard: true,
      index: false,
      list: false,
      dotfiles: 'deny',
      immutable: true,
      maxAge: '365d',
    });
    // The page's runtime settings: what the operator put in web/dist/config.json, plus the
    // message limit, which the page needs to size its encrypted messages.
    const configPath = `${WEB_DIST}config.json`;
    let runtimeConfig: unknown = {};
    try {
      if (existsSync(configPath)) runtimeConfig = JSON.parse(readFileSync(configPath, 'utf8'));
    } catch {
      throw new StartupError(`${configPath} is not valid JSON`);
    }
    const pageConfig = {
      ...(typeof runtimeConfig === 'object' && runtimeConfig !== null ? runtimeConfig : {}),
      max_message_bytes: maxMessageBytes,
    };
    app.get('/config.json', { schema: { hide: true } }, async (_request, reply) =>
      reply.type('application/json').send(pageConfig),
    );
    for (const file of ['favicon.svg', 'robots.txt']) {
      if (!existsSync(`${WEB_DIST}${file}`)) continue;
      const body = readFileSync(`${WEB_DIST}${file}`);
      const type = file.endsWith('.svg') ? 'image/svg+xml' : 'text/plain; charset=utf-8';
      app.get(`/${file}`, { schema: { hide: true } }, async (_request, reply) =>
        reply.type(type).send(body),
      );
    }
  }
}
