import { buildApp } from './app.js';
import { loadConfigOrReport } from './config/load.js';
import { createLogger } from './logger.js';
import { StartupError } from './services.js';
import { DataDirLockedError } from './storage/data-dir-lock.js';
import { MakeDirError } from './storage/make-dir.js';

/**
 * How long a drain may take before the process gives up and exits 1. Longer than a statement
 * may run (statement_timeout 10 s, query_timeout 15 s), so that a request stuck on a locked
 * row still gets its answer; shorter than Kubernetes' default 30 s grace before SIGKILL.
 */
const SHUTDOWN_GRACE_MS = 25_000;

async function main(): Promise<void> {
  const loaded = loadConfigOrReport(process.env);
  if (loaded === undefined) {
    process.exitCode = 1;
    return;
  }
  const { config, log } = loaded;
  if (config.generatedSecrets.length > 0) {
    log.warn(
      { event: 'dev_secrets_generated', names: config.generatedSecrets, data_dir: config.dataDir },
      'Using development secrets generated in DATA_DIR; set them yourself for production',
    );
  }

  let built;
  try {
    built = await buildApp(config, log);
  } catch (err) {
    if (err instanceof StartupError || err instanceof DataDirLockedError) {
      log.fatal({ event: 'startup_refused' }, err.message);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
  const { app } = built;

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ event: 'shutdown_started', signal }, 'Draining requests');
    const force = setTimeout(() => {
      log.error({ event: 'shutdown_forced' }, 'Requests did not finish in time');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    app.close().then(
      () => {
        log.info({ event: 'shutdown_finished' }, 'Stopped');
        process.exitCode = 0;
      },
      () => {
        log.error({ event: 'shutdown_failed' }, 'Shutdown failed');
        process.exitCode = 1;
      },
    );
  };
  process.once('SIGTERM', () => {
    shutdown('SIGTERM');
  });
  process.once('SIGINT', () => {
    shutdown('SIGINT');
  });

  await app.listen({ port: config.port, host: config.host });
  const address = app.server.address();
  log.info(
    {
      event: 'listening',
      host: config.host,
      port: address !== null && typeof address === 'object' ? address.port : config.port,
      database: built.services.db.kind,
      tls: config.tlsCertFile !== undefined,
      production: config.production,
    },
    'Sealnote is listening',
  );
}

main().catch((err: unknown) => {
  if (err instanceof MakeDirError) {
    createLogger('info').fatal({ event: 'startup_refused', err_code: err.code }, err.message);
    process.exitCode = 1;
    return;
  }
  const name = err instanceof Error ? err.name : 'unknown';
  const code = (err as { code?: unknown }).code;
  createLogger('info').fatal(
    {
      event: 'startup_failed',
      err_type: name,
      err_code: typeof code === 'string' ? code : undefined,
    },
    'Sealnote could not start',
  );
  process.exitCode = 1;
});
