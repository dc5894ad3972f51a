import { makeDir } from './make-dir.js';
import lockfile from 'proper-lockfile';

export class DataDirLockedError extends Error {
  constructor(dataDir: string) {
    super(
      `DATA_DIR ${dataDir} is in use by another Sealnote process. Two processes on one embedded ` +
        'database corrupt it: stop the other one, or give this one its own DATA_DIR. ' +
        '(A lock left by a crashed process expires after 10 seconds.)',
    );
    this.name = 'DataDirLockedError';
  }
}

/**
 * Takes the exclusive lock on DATA_DIR, or throws DataDirLockedError. The lock is a directory
 * whose mtime the holder refreshes; a crashed holder's lock goes stale, so a restart after a
 * crash does not need a hand-deleted file.
 * @see https://github.com/moxystudio/node-proper-lockfile
 */
export async function lockDataDir(
  dataDir: string,
  onCompromised: (err: Error) => void,
): Promise<() => Promise<void>> {
  makeDir(dataDir);
  try {
    return await lockfile.lock(dataDir, {
      lockfilePath: `${dataDir}/.sealnote.lock`,
      stale: 10_000,
      update: 2_000,
      realpath: false,
      onCompromised,
    });
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ELOCKED') throw new DataDirLockedError(dataDir);
    throw err;
  }
}
