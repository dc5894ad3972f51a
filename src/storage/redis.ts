import { Redis } from 'ioredis';

export interface RedisFaultLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/**
 * A Redis client that fails fast instead of queueing: while Redis is away, callers see an
 * error at once and fall back, so requests are never held waiting for it. It reconnects by
 * itself, and logs each outage once rather than once per retry.
 */
export function createRedis(url: string, log: RedisFaultLog): Redis {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 1_000,
    lazyConnect: false,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  let down = false;
  client.on('error', (err: Error & { code?: string }) => {
    if (down) return;
    down = true;
    log.warn(
      { event: 'redis_unavailable', err_code: err.code ?? err.name },
      'Redis is unreachable',
    );
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    log.info({ event: 'redis_recovered' }, 'Redis is reachable again');
  });
  return client;
}

/**
 * Waits a moment for the first connection, so that the first requests after start are counted
 * in Redis rather than waved through; a Redis that is away at start is logged and not waited on.
 */
export async function waitForRedis(client: Redis, timeoutMs = 3_000): Promise<boolean> {
  if (client.status === 'ready') return true;
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      resolve(ready);
    };
    const onReady = () => {
      done(true);
    };
    const timer = setTimeout(() => {
      done(false);
    }, timeoutMs);
    client.on('ready', onReady);
  });
}
