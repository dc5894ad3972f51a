import { makeDir } from './make-dir.js';
import { join } from 'node:path';
import pg from 'pg';

/** What the rest of Sealnote needs from a database: parameterised queries and transactions. */
export interface Queryable {
  query<T>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs a script of several statements without parameters (migrations only). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly kind: 'embedded' | 'postgres';
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The embedded PostgreSQL (PGlite), kept in DATA_DIR/pgdata. One process at a time. */
export async function openEmbedded(dataDir: string): Promise<Database> {
  const dir = join(dataDir, 'pgdata');
  makeDir(dir);
  // 32 MB of shared buffers, not PGlite's 128: ample for a one-process secret store, and it
  // keeps the embedded server's memory near a third lower.
  // Loaded here, not at the top: a server on PostgreSQL never pays the ~5 MB it takes.
  const { PGlite } = await import('@electric-sql/pglite');
  const db = await PGlite.create(dir, { postgresqlconf: 'shared_buffers = 32MB' });
  return {
    kind: 'embedded',
    async query<T>(sql: string, params: unknown[] = []) {
      return (await db.query<T>(sql, params)).rows;
    },
    async exec(sql: string) {
      await db.exec(sql);
    },
    async transaction<T>(work: (tx: Queryable) => Promise<T>) {
      return db.transaction((tx) =>
        work({
          query: async <R>(sql: string, params: unknown[] = []) =>
            (await tx.query<R>(sql, params)).rows,
          exec: async (sql: string) => {
            await tx.exec(sql);
          },
        }),
      );
    },
    async close() {
      await db.close();
    },
  };
}

export interface PostgresOptions {
  /** Called for errors of idle pooled connections, e.g. when the server restarts. */
  onIdleError?: (err: Error) => void;
  max?: number;
}

/**
 * Names for the statements the service runs, so that each pooled connection parses and plans
 * a statement once and then only binds and executes it. The service's SQL is a fixed set of
 * constant strings (values always travel as parameters), so the set stays small; past the cap
 * a statement simply runs unnamed.
 */
const statementNames = new Map<string, string>();
export const MAX_NAMED_STATEMENTS = 100;

function statementName(sql: string): string | undefined {
  let name = statementNames.get(sql);
  if (name === undefined && statementNames.size < MAX_NAMED_STATEMENTS) {
    name = `sealnote_${statementNames.size}`;
    statementNames.set(sql, name);
  }
  return name;
}

/** PostgreSQL through a pool of `pg` connections. */
export function openPostgres(url: string, options: PostgresOptions = {}): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 16,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    // A stuck query must not hold a request (and a connection) forever.
    statement_timeout: 10_000,
    query_timeout: 15_000,
    application_name: 'sealnote',
  });
  // Without a listener, an idle connection dropped by the server crashes the process.
  pool.on('error', (err) => options.onIdleError?.(err));
  return {
    kind: 'postgres',
    async query<T>(sql: string, params: unknown[] = []) {
      const result = await pool.query({ name: statementName(sql), text: sql, values: params });
      return result.rows as T[];
    },
    async exec(sql: string) {
      await pool.query(sql);
    },
    async transaction<T>(work: (tx: Queryable) => Promise<T>) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const value = await work({
          query: async <R>(sql: string, params: unknown[] = []) =>
            (await client.query(sql, params)).rows as R[],
          exec: async (sql: string) => {
            await client.query(sql);
          },
        });
        await client.query('COMMIT');
        return value;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    async close() {
      await pool.end();
    },
  };
}

/** True for errors that mean "the database cannot be reached", as opposed to a bad query. */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as Error & { code?: unknown }).code;
  if (typeof code === 'string') {
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND'].includes(code)) {
      return true;
    }
    // Class 08 is connection exceptions; 57P01-57P03 are admin shutdown and cannot-connect-now.
    if (code.startsWith('08') || ['57P01', '57P02', '57P03'].includes(code)) return true;
  }
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    err.message,
  );
}
