import { loadConfigOrReport } from '../config/load.js';
import { createMessageCipher } from '../crypto/message-cipher.js';
import { rotateKeys } from '../messages/key-rotation.js';
import { DataDirLockedError, lockDataDir } from '../storage/data-dir-lock.js';
import { openEmbedded, openPostgres, type Database } from '../storage/database.js';

/**
 * `npm run keys:rotate`: re-encrypts every stored message under the first key of
 * ENCRYPTION_KEYS. On PostgreSQL it runs beside the serving replicas. The embedded database
 * belongs to one process: while the server runs, it rotates by itself at start-up.
 */
async function main(): Promise<number> {
  const loaded = loadConfigOrReport(process.env);
  if (loaded === undefined) return 1;
  const { config, log } = loaded;
  const cipher = createMessageCipher(config.encryptionKeys);

  let db: Database;
  let unlock: () => Promise<void> = () => Promise.resolve();
  if (config.databaseUrl === undefined) {
    try {
      unlock = await lockDataDir(config.dataDir, () => undefined);
    } catch (err) {
      if (!(err instanceof DataDirLockedError)) throw err;
      log.fatal(
        { event: 'rotation_refused' },
        'The server holds the embedded database. It re-encrypts under the first key by itself ' +
          'when it starts with more than one key: restart it with the new ENCRYPTION_KEYS.',
      );
      return 1;
    }
    db = await openEmbedded(config.dataDir);
  } else {
    db = openPostgres(config.databaseUrl, { max: 2 });
  }

  try {
    const report = await rotateKeys(db, cipher);
    log.info({ event: 'keys_rotated', ...report }, 'Key rotation finished');
    if (report.failed > 0) {
      log.error(
        { event: 'rotation_incomplete', failed: report.failed },
        'Some messages could not be decrypted with any key in ENCRYPTION_KEYS; they were left as they were',
      );
      return 1;
    }
    return 0;
  } finally {
    await db.close();
    await unlock();
  }
}

process.exitCode = await main();
