import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/** A folder Sealnote needs could not be made; the message names it and says why. */
export class MakeDirError extends Error {
  constructor(
    readonly path: string,
    readonly code: string,
  ) {
    super(`Cannot create the folder ${path} (${code}); check DATA_DIR and its permissions`);
    this.name = 'MakeDirError';
  }
}

/**
 * `mkdir -p` with a mode, one level at a time. Node's own `recursive: true` can spin for ever:
 * under /proc, mkdir answers ENOENT for a new child of a folder that exists, and Node retries
 * the same two steps without end. Here every failure is thrown as it happens.
 */
export function makeDir(path: string, mode = 0o700): void {
  const missing: string[] = [];
  for (let dir = path; !existsSync(dir); dir = dirname(dir)) {
    missing.push(dir);
    if (dirname(dir) === dir) break;
  }
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir, { mode });
    } catch (err) {
      // Made by another process in the meantime: what we wanted.
      const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
      if (code !== 'EEXIST') throw new MakeDirError(dir, code);
    }
  }
}
