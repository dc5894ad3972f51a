import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config/env.js';
import { createLogger } from '../../src/logger.js';
import type { Services } from '../../src/services.js';
import { FernetKey } from '../../src/crypto/fernet.js';
import { randomBytes } from 'node:crypto';

export interface TestServer {
  app: FastifyInstance;
  services: Services;
  config: Config;
  /** Base URL when listening (listen: true), else ''. */
  url: string;
  dataDir: string;
  /** Every log line written so far, as raw JSON text. */
  logs: string[];
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  stop(): Promise<void>;
}

export interface TestServerOptions {
  env?: Record<string, string | undefined>;
  listen?: boolean;
  /** Reuse this DATA_DIR instead of a fresh one (for restart tests). */
  dataDir?: string;
}

/** Secrets made at test time; never committed. */
export function testSecrets() {
  return {
    JWT_SECRET: randomBytes(32).toString('base64url'),
    ENCRYPTION_KEYS: FernetKey.generate(),
  };
}

function freshDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sealnote-test-'));
  // A migrated embedded database made once per run (test/global-setup.ts): initdb is slow.
  const template = inject('pgliteTemplate');
  if (template !== '') cpSync(template, join(dir, 'pgdata'), { recursive: true });
  return dir;
}

/**
 * The real app, in-process: real embedded PostgreSQL (or PostgreSQL when DATABASE_URL is
 * given), real Redis when REDIS_URL is given, and the real logger writing into `logs`.
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? freshDataDir();
  const env: Record<string, string | undefined> = {
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    RATE_LIMIT_MAX: '100000',
    AUTH_RATE_LIMIT_MAX: '100000',
    CREATE_RATE_LIMIT_MAX: '100000',
    ...options.env,
  };
  const config = loadConfig(env);
  const logs: string[] = [];
  const logger = createLogger(config.logLevel, {
    write(line: string) {
      logs.push(line);
    },
  });
  const { app, services } = await buildApp(config, logger);
  let url = '';
  if (options.listen === true) {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    url = `http://127.0.0.1:${address.port}`;
  }
  return {
    app,
    services,
    config,
    url,
    dataDir,
    logs,
    query: (sql, params) => services.db.query(sql, params),
    async stop() {
      await app.close();
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
  }
}
