/**
 * The floor that `npm run bench` compares Sealnote with: a bare Fastify 5 server doing the same
 * single SQL statement per request on the same PostgreSQL database through a pool of the same
 * size, and nothing else (no auth, no validation, no encryption, no logging, no rate limits).
 * It sends PostgreSQL exactly what Sealnote sends: the service's own statement text, imported
 * from it, run as a named (prepared) statement as the service runs it. The ratio of the two
 * servers is then the cost of what Sealnote adds on top of the database.
 *
 * Started by scripts/bench.ts as a child process; configured through the environment:
 *   BASELINE_DATABASE_URL  PostgreSQL URL (the least-privilege app role)
 *   BASELINE_OWNER_ID      an existing users.id that the created rows belong to
 *   BASELINE_PORT          where to listen on 127.0.0.1
 *   BASELINE_POOL_MAX      pg pool size (Sealnote's is 16)
 */
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import pg from 'pg';
import { CONSUME_OPEN, INSERT_MESSAGE } from '../src/messages/statements.js';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is required`);
  return value;
}

const ownerId = required('BASELINE_OWNER_ID');
const port = Number(required('BASELINE_PORT'));
const pool = new pg.Pool({
  connectionString: required('BASELINE_DATABASE_URL'),
  max: Number(process.env.BASELINE_POOL_MAX ?? '16'),
  application_name: 'sealnote-bench-baseline',
});
pool.on('error', () => undefined);

const CONTENT = 'baseline fixed content';

interface CreatedRow {
  id: string;
  expires_at: Date;
  max_views: number;
}

interface ConsumedRow {
  id: string;
  content: string | null;
  created_at: Date;
  expires_at: Date;
  views_left: number;
}

const app = Fastify({ logger: false });

app.post('/message', async (_request, reply) => {
  const { rows } = await pool.query<CreatedRow>({
    name: 'baseline_insert',
    text: INSERT_MESSAGE,
    values: [randomUUID(), ownerId, CONTENT, null, 1, 86400],
  });
  const row = rows[0];
  if (row === undefined) throw new Error('insert returned no row');
  return reply.code(201).send({
    id: row.id,
    expires_at: row.expires_at.toISOString(),
    max_views: row.max_views,
  });
});

app.get<{ Params: { id: string } }>('/message/:id', async (request, reply) => {
  const { rows } = await pool.query<ConsumedRow>({
    name: 'baseline_consume',
    text: CONSUME_OPEN,
    values: [request.params.id],
  });
  const row = rows[0];
  if (row === undefined) return reply.code(404).send({ status: 404 });
  return reply.send({
    id: row.id,
    message: row.content,
    created_at: row.created_at.toISOString(),
    expires_at: row.expires_at.toISOString(),
    views_left: row.views_left,
  });
});

app.get('/healthz', (_request, reply) => reply.send({ status: 'ok' }));

const shutdown = () => {
  void app
    .close()
    .then(() => pool.end())
    .finally(() => process.exit(0));
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);

await app.listen({ port, host: '127.0.0.1' });
