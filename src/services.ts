import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { createAccountService, type AccountService } from './accounts/account-service.js';
import {
  durableRevocations,
  redisRevocations,
  type RevocationList,
} from './accounts/revocation.js';
import { createTokenIssuer, type TokenIssuer } from './accounts/tokens.js';
import type { Config } from './config/env.js';
import { createMessageCipher, type MessageCipher } from './crypto/message-cipher.js';
import { rotateKeys } from './messages/key-rotation.js';
import { createMessageService, type MessageService } from './messages/message-service.js';
import { lockDataDir } from './storage/data-dir-lock.js';
import { openEmbedded, openPostgres, type Database } from './storage/database.js';
import { LATEST_VERSION, migrate, schemaVersion } from './storage/migrations.js';
import { createRedis, waitForRedis } from './storage/redis.js';
import { excessPrivileges } from './storage/role-check.js';

export interface Services {
  db: Database;
  redis: Redis | undefined;
  cipher: MessageCipher;
  tokens: TokenIssuer;
  revocations: RevocationList;
  accounts: AccountService;
  messages: MessageService;
  close(): Promise<void>;
}

/** A refusal to start: the message says what is wrong and how to fix it. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

async function openDatabase(config: Config, log: FastifyBaseLogger) {
  if (config.databaseUrl === undefined) {
    const unlock = await lockDataDir(config.dataDir, () => {
      // Another process may now hold the embedded database (this one was frozen past the
      // lock's staleness): serving on would mean two writers on one database. Stop at once.
      log.fatal({ event: 'data_dir_lock_lost' }, 'Lost the lock on DATA_DIR; stopping');
      process.exit(1);
    });
    try {
      const db = await openEmbedded(config.dataDir);
      const applied = await migrate(db);
      if (applied.length > 0) log.info({ event: 'schema_migrated', applied }, 'Schema created');
      // This process is the only user of the embedded database: checks that were under way
      // when it last stopped are not any more.
      await db.query('UPDATE messages SET checks_in_flight = 0 WHERE checks_in_flight > 0');
      return { db, unlock };
    } catch (err) {
      await unlock();
      throw err;
    }
  }

  const db = openPostgres(config.databaseUrl, {
    onIdleError: (err) => {
      log.warn({ event: 'database_connection_lost', err_code: errCode(err) }, 'Database dropped');
    },
  });
  try {
    // The server never changes an external schema: that is `npm run migrate`'s job, run by
    // the owner role. Serving a schema that is behind would fail in odd places later.
    const version = await schemaVersion(db);
    if (version < LATEST_VERSION) {
      throw new StartupError(
        `The database schema is at version ${version}, this release needs ${LATEST_VERSION}. ` +
          'Run `npm run migrate` with MIGRATION_DATABASE_URL set to the schema owner role.',
      );
    }
    const excess = await excessPrivileges(db);
    if (excess.length > 0) {
      const message = `The database role of DATABASE_URL ${excess.join(', ')}; it should only read and write rows`;
      if (config.production) throw new StartupError(`${message}. Refusing to start in production.`);
      log.warn({ event: 'database_role_too_powerful', excess }, message);
    }
  } catch (err) {
    await db.close();
    throw err;
  }
  return { db, unlock: async () => undefined };
}

function errCode(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : err instanceof Error ? err.name : 'unknown';
}

/**
 * Batched create and read statements in flight at once on PostgreSQL, for each of the two:
 * together 12 of the pool's 16 connections, which leaves the rest for everything else (owner
 * lists, passphrase gates, revocations). Each slot is a connection a slow statement (a row
 * another transaction holds locked, say) can occupy while the other slots carry on.
 */
const POSTGRES_BATCHES_IN_FLIGHT = 6;

export async function openServices(config: Config, log: FastifyBaseLogger): Promise<Services> {
  const cipher = createMessageCipher(config.encryptionKeys);
  const { db, unlock } = await openDatabase(config, log);
  const redis = config.redisUrl === undefined ? undefined : createRedis(config.redisUrl, log);
  if (redis !== undefined) await waitForRedis(redis);
  const revocations = redis === undefined ? await durableRevocations(db) : redisRevocations(redis);

  const messages = createMessageService(
    db,
    cipher,
    {
      undecryptable: () => {
        log.error(
          { event: 'message_undecryptable' },
          'A stored message opens with no key in ENCRYPTION_KEYS (or belongs to another row); ' +
            'its view was given back',
        );
      },
      destroyedAfterFailures: () => {
        log.warn(
          { event: 'message_destroyed_after_failed_passphrases' },
          'A message was destroyed after too many wrong passphrases',
        );
      },
    },
    { maxBatchesInFlight: db.kind === 'embedded' ? 1 : POSTGRES_BATCHES_IN_FLIGHT },
  );

  if (db.kind === 'embedded' && config.encryptionKeys.length > 1) {
    // The embedded database cannot be opened by a second process while this one runs, so
    // rotation after a key change happens here, in the background.
    rotateKeys(db, cipher)
      .then((report) => {
        log.info({ event: 'keys_rotated', ...report }, 'Key rotation finished');
      })
      .catch((err: unknown) => {
        log.error({ event: 'key_rotation_failed', err_code: errCode(err) }, 'Key rotation failed');
      });
  }

  return {
    db,
    redis,
    cipher,
    tokens: createTokenIssuer(config.jwtSecret, config.jwtTtl),
    revocations,
    accounts: createAccountService(db),
    messages,
    async close() {
      redis?.disconnect();
      await db.close();
      await unlock();
    },
  };
}
