import type { Redis } from 'ioredis';
import type { Queryable } from '../storage/database.js';

/**
 * Revoked token ids (jti), kept a minute past the token's own expiry, so that no instant
 * exists at which a token is still valid but no longer known to be revoked.
 */
const KEEP_PAST_EXPIRY_S = 60;
export interface RevocationList {
  revoke(jti: string, expiresAtSeconds: number): Promise<void>;
  isRevoked(jti: string): Promise<boolean>;
}

class LocalRevocations {
  private readonly entries = new Map<string, number>();

  add(jti: string, expiresAtSeconds: number): void {
    this.entries.set(jti, expiresAtSeconds + KEEP_PAST_EXPIRY_S);
    if (this.entries.size % 1024 === 0) this.prune();
  }

  has(jti: string): boolean {
    const exp = this.entries.get(jti);
    if (exp === undefined) return false;
    if (exp * 1000 <= Date.now()) {
      this.entries.delete(jti);
      return false;
    }
    return true;
  }

  private prune(): void {
    const now = Date.now();
    for (const [jti, exp] of this.entries) if (exp * 1000 <= now) this.entries.delete(jti);
  }
}

/**
 * Without Redis: revocations are checked in memory and also written to the database, and
 * loaded back at start, so a restart does not bring a logged-out token back to life. (Several
 * replicas need REDIS_URL to see each other's logouts at once.)
 */
export async function durableRevocations(db: Queryable): Promise<RevocationList> {
  const local = new LocalRevocations();
  const rows = await db.query<{ jti: string; exp: number }>(
    `SELECT jti, extract(epoch FROM expires_at)::float8 - ${KEEP_PAST_EXPIRY_S} AS exp
       FROM revoked_tokens WHERE expires_at > now()`,
  );
  for (const row of rows) local.add(row.jti, row.exp);
  return {
    async revoke(jti, exp) {
      local.add(jti, exp);
      await db.query(
        `INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, to_timestamp($2))
         ON CONFLICT (jti) DO NOTHING`,
        [jti, exp + KEEP_PAST_EXPIRY_S],
      );
    },
    isRevoked(jti) {
      return Promise.resolve(local.has(jti));
    },
  };
}

/**
 * Shared across replicas through Redis. If Redis is away, this replica still remembers what
 * it revoked itself, so a logout here holds here; the fault is logged by the Redis client.
 */
export function redisRevocations(redis: Redis): RevocationList {
  const local = new LocalRevocations();
  const key = (jti: string) => `sealnote:revoked:${jti}`;
  return {
    async revoke(jti, exp) {
      local.add(jti, exp);
      await redis.set(key(jti), '1', 'EXAT', exp + KEEP_PAST_EXPIRY_S).catch(() => undefined);
    },
    async isRevoked(jti) {
      if (local.has(jti)) return true;
      try {
        return (await redis.exists(key(jti))) === 1;
      } catch {
        return false;
      }
    },
  };
}
