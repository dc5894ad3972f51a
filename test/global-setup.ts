import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { openEmbedded } from '../src/storage/database.js';
import { migrate } from '../src/storage/migrations.js';

/** Makes one migrated embedded database that every test copies instead of running initdb. */
export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), 'sealnote-template-'));
  const db = await openEmbedded(dir);
  await migrate(db);
  await db.close();
  project.provide('pgliteTemplate', join(dir, 'pgdata'));
  return () => {
    rmSync(dir, { recursive: true, force: true });
  };
}
