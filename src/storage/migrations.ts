import type { Database, Queryable } from './database.js';

interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * The one schema, for the embedded database and PostgreSQL alike. Append only: a released
 * migration is never edited. Message content is a Fernet token, never plaintext; `content` is
 * set to NULL in the same statement that takes the last view, and the purge deletes the row.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'accounts and messages',
    sql: `
      CREATE TABLE users (
        id uuid PRIMARY KEY,
        username text NOT NULL,
        password_hash text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));

      CREATE TABLE messages (
        id uuid PRIMARY KEY,
        owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        content text,
        passphrase_hash text,
        failed_attempts integer NOT NULL DEFAULT 0,
        max_views integer NOT NULL CHECK (max_views BETWEEN 1 AND 100),
        views_left integer NOT NULL CHECK (views_left BETWEEN 0 AND max_views),
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL
      );
      CREATE INDEX messages_owner_idx ON messages (owner_id, created_at);
      CREATE INDEX messages_expires_idx ON messages (expires_at);
    `,
  },
  {
    version: 2,
    name: 'revoked tokens',
    sql: `
      CREATE TABLE revoked_tokens (
        jti uuid PRIMARY KEY,
        expires_at timestamptz NOT NULL
      );
      CREATE INDEX revoked_tokens_expires_idx ON revoked_tokens (expires_at);
    `,
  },
  {
    version: 3,
    name: 'passphrase checks in flight',
    sql: `
      ALTER TABLE messages
        ADD COLUMN checks_in_flight integer NOT NULL DEFAULT 0 CHECK (checks_in_flight >= 0);
    `,
  },
  {
    version: 4,
    name: 'when the latest passphrase check began',
    sql: `
      ALTER TABLE messages ADD COLUMN checks_since timestamptz;
    `,
  },
];

export const LATEST_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

const CREATE_LEDGER = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`;

/**
 * The serving role's default privileges would let it rewrite the ledger and so make a schema
 * look newer than it is; only the owner may write it. Other roles keep SELECT.
 */
const PROTECT_LEDGER = `
  DO $$
  DECLARE grantee text;
  BEGIN
    FOR grantee IN
      SELECT DISTINCT g.grantee FROM information_schema.role_table_grants g
       WHERE g.table_name = 'schema_migrations' AND g.grantee <> current_user
         AND g.privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')
    LOOP
      EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM %I',
                     grantee);
    END LOOP;
  END $$`;

/** The schema version of a database, or 0 when it has none. Needs only SELECT. */
export async function schemaVersion(db: Queryable): Promise<number> {
  const [ledger] = await db.query<{ exists: boolean }>(
    `SELECT to_regclass('schema_migrations') IS NOT NULL AS exists`,
  );
  if (ledger?.exists !== true) return 0;
  const [row] = await db.query<{ version: number | null }>(
    'SELECT max(version) AS version FROM schema_migrations',
  );
  return row?.version ?? 0;
}

/**
 * Applies the pending migrations, each in its own transaction. On PostgreSQL an advisory lock
 * keeps two migrators (two replicas' init containers, say) from racing.
 */
export async function migrate(db: Database): Promise<number[]> {
  await db.exec(CREATE_LEDGER);
  if (db.kind === 'postgres') await db.exec(PROTECT_LEDGER);
  const applied: number[] = [];
  await db.transaction(async (tx) => {
    if (db.kind === 'postgres') {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('sealnote-migrations'))`);
    }
    const done = new Set(
      (await tx.query<{ version: number }>('SELECT version FROM schema_migrations')).map(
        (r) => r.version,
      ),
    );
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      await tx.exec(migration.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
      applied.push(migration.version);
    }
  });
  return applied;
}
