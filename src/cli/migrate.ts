import { ConfigError } from '../config/env.js';
import { readSecret } from '../config/secret-sources.js';
import { createLogger } from '../logger.js';
import { openPostgres } from '../storage/database.js';
import { LATEST_VERSION, migrate } from '../storage/migrations.js';

/**
 * `npm run migrate`: applies the schema to PostgreSQL as the schema owner
 * (MIGRATION_DATABASE_URL, else DATABASE_URL). The embedded database migrates itself at start.
 */
async function main(): Promise<number> {
  const log = createLogger(process.env.LOG_LEVEL ?? 'info');
  const problems: string[] = [];
  const url =
    readSecret(process.env, 'MIGRATION_DATABASE_URL', problems) ??
    readSecret(process.env, 'DATABASE_URL', problems);
  if (problems.length > 0) {
    log.fatal({ event: 'config_invalid', problems }, new ConfigError(problems).message);
    return 1;
  }
  if (url === undefined) {
    log.fatal(
      { event: 'config_invalid' },
      'Set MIGRATION_DATABASE_URL (the schema owner role) to migrate PostgreSQL. ' +
        'The embedded database needs no migrate step: it is created at start.',
    );
    return 1;
  }
  const db = openPostgres(url, { max: 1 });
  try {
    const applied = await migrate(db);
    log.info(
      { event: 'schema_migrated', applied, version: LATEST_VERSION },
      applied.length > 0 ? 'Schema migrated' : 'Schema already up to date',
    );
    return 0;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    log.fatal(
      { event: 'migration_failed', err_code: typeof code === 'string' ? code : undefined },
      'Migration failed; nothing of the failed step was applied',
    );
    return 1;
  } finally {
    await db.close();
  }
}

process.exitCode = await main();
