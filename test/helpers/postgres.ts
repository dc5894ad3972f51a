import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openPostgres } from '../../src/storage/database.js';
import { migrate } from '../../src/storage/migrations.js';

/** The PostgreSQL server of the machine and of CI; the local roles are trusted. */
export const PG_ADMIN_URL =
  process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  name: string;
  ownerUrl: string;
  appUrl: string;
  /** A superuser URL on the test database, for inspecting and for privilege tests. */
  adminUrl: string;
  drop(): Promise<void>;
}

async function admin<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * A fresh database with the two roles the README documents: an owner that migrates and a
 * serving role with row rights only. Passwords are made here, at test time.
 */
export async function createTestDatabase(
  options: { migrate?: boolean } = {},
): Promise<TestDatabase> {
  const suffix = randomBytes(5).toString('hex');
  const name = `sealnote_test_${suffix}`;
  const owner = `sealnote_owner_${suffix}`;
  const app = `sealnote_app_${suffix}`;
  const ownerPassword = randomBytes(12).toString('hex');
  const appPassword = randomBytes(12).toString('hex');

  await admin(PG_ADMIN_URL, async (c) => {
    await c.query(`CREATE ROLE ${owner} LOGIN PASSWORD '${ownerPassword}'`);
    await c.query(`CREATE ROLE ${app} LOGIN PASSWORD '${appPassword}'`);
    await c.query(`CREATE DATABASE ${name} OWNER ${owner}`);
    await c.query(`REVOKE ALL ON DATABASE ${name} FROM PUBLIC`);
    await c.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${name} TO ${app}`);
  });
  const adminUrl = withDatabase(PG_ADMIN_URL, name);
  await admin(adminUrl, async (c) => {
    await c.query(`ALTER SCHEMA public OWNER TO ${owner}`);
    await c.query(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
    await c.query(`GRANT USAGE ON SCHEMA public TO ${app}`);
    await c.query(
      `ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} IN SCHEMA public
         GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${app}`,
    );
  });

  const base = new URL(PG_ADMIN_URL);
  const url = (user: string, password: string) =>
    `postgres://${user}:${password}@${base.host}/${name}`;
  const ownerUrl = url(owner, ownerPassword);
  const appUrl = url(app, appPassword);

  if (options.migrate !== false) {
    const db = openPostgres(ownerUrl);
    try {
      await migrate(db);
    } finally {
      await db.close();
    }
  }

  return {
    name,
    ownerUrl,
    appUrl,
    adminUrl,
    async drop() {
      await admin(PG_ADMIN_URL, async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.query(`DROP ROLE IF EXISTS ${app}`);
        await c.query(`DROP ROLE IF EXISTS ${owner}`);
      });
    },
  };
}

export async function adminQuery<T>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  return admin(url, async (c) => (await c.query(sql, params)).rows as T[]);
}
