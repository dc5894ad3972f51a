import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

/** One process that loads the configuration as the server would, pretending to be PID 1. */
const PROGRAM = `
  Object.defineProperty(process, 'pid', { value: 1 });
  const { loadConfig } = await import('./src/config/env.ts');
  const c = loadConfig({ DATA_DIR: process.argv[1] });
  console.log(JSON.stringify([c.jwtSecret, c.encryptionKeys[0]]));
`;

async function loadInParallel(dataDir: string, count: number): Promise<string[]> {
  const runs = Array.from({ length: count }, () =>
    run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', PROGRAM, dataDir], {
      cwd: ROOT,
    }),
  );
  return (await Promise.all(runs)).map((r) => r.stdout.trim());
}

describe('generating development secrets from several processes at once', () => {
  it('gives every process the secrets that end up on disk, even with one PID', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sealnote-race-'));
    const seen = await loadInParallel(dataDir, 6);

    const onDisk = JSON.parse(readFileSync(join(dataDir, 'generated-secrets.json'), 'utf8')) as {
      JWT_SECRET: string;
      ENCRYPTION_KEYS: string;
    };
    const expected = JSON.stringify([onDisk.JWT_SECRET, onDisk.ENCRYPTION_KEYS]);
    expect(new Set(seen)).toEqual(new Set([expected]));
    expect(readdirSync(dataDir).sort()).toEqual(['generated-secrets.json']);
  });

  it('keeps an existing secret when adding the missing one', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sealnote-race-'));
    const jwt = 'an-existing-generated-secret-that-is-long-enough-0123456789';
    writeFileSync(join(dataDir, 'generated-secrets.json'), JSON.stringify({ JWT_SECRET: jwt }));
    const seen = await loadInParallel(dataDir, 6);

    const onDisk = JSON.parse(readFileSync(join(dataDir, 'generated-secrets.json'), 'utf8')) as {
      JWT_SECRET: string;
      ENCRYPTION_KEYS: string;
    };
    expect(onDisk.JWT_SECRET).toBe(jwt);
    expect(new Set(seen)).toEqual(new Set([JSON.stringify([jwt, onDisk.ENCRYPTION_KEYS])]));
  });
});
