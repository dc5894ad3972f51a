import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FernetKey } from '../../src/crypto/fernet.js';
import { createMessageCipher } from '../../src/crypto/message-cipher.js';
import { AppError } from '../../src/errors.js';
import {
  createMessageService,
  type MessageService,
  type RevealOutcome,
} from '../../src/messages/message-service.js';
import { CONSUME_OPEN_MANY, INSERT_MESSAGES } from '../../src/messages/statements.js';
import {
  BatchItemDroppedError,
  BatchWaitTimeoutError,
  createBatcher,
  statementFailed,
  type BatchRunner,
} from '../../src/storage/batcher.js';
import {
  openEmbedded,
  openPostgres,
  type Database,
  type Queryable,
} from '../../src/storage/database.js';
import { migrate } from '../../src/storage/migrations.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

/** A runner that records each call; `fail` decides per item whether it is a bad one. */
function recordingRunner(
  overrides: Partial<BatchRunner<number, number>> = {},
  fail: (item: number) => boolean = () => false,
) {
  const calls: { kind: 'many' | 'one'; items: number[] }[] = [];
  const badItem = Object.assign(new Error('bad item'), { code: '23503' });
  const runner: BatchRunner<number, number> = {
    async runMany(items) {
      calls.push({ kind: 'many', items: [...items] });
      await new Promise((resolve) => setImmediate(resolve));
      if (items.some(fail)) throw badItem;
      return items.map((n) => n * 10);
    },
    async runOne(item) {
      calls.push({ kind: 'one', items: [item] });
      await new Promise((resolve) => setImmediate(resolve));
      if (fail(item)) throw badItem;
      return item * 10;
    },
    changedNothing: statementFailed,
    maxItems: 100,
    maxInFlight: 1,
    maxWaitMs: 60_000,
    ...overrides,
  };
  return { runner, calls };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * A batcher whose statements answer their items back, and where an item that `holds` (given
 * the items started so far) runs alone and stays running until `release()`, like a statement
 * on a row another transaction holds locked.
 */
function holdingBatcher<T>(
  holds: (item: T, started: readonly T[]) => boolean,
  options: Partial<BatchRunner<T, T>> = {},
) {
  const started: T[] = [];
  let release: () => void = () => undefined;
  const batcher = createBatcher<T, T>({
    runMany: async (items) => {
      started.push(...items);
      return [...items];
    },
    runOne: async (item) => {
      started.push(item);
      if (holds(item, started)) await new Promise<void>((resolve) => (release = resolve));
      return item;
    },
    changedNothing: statementFailed,
    maxItems: 100,
    maxInFlight: 1,
    maxWaitMs: 60_000,
    ...options,
  });
  return {
    batcher,
    started,
    release: () => {
      release();
    },
  };
}

describe('the batcher', () => {
  it('runs a lone item on its own, and items that arrive together in one batch, in order', async () => {
    const { runner, calls } = recordingRunner();
    const batcher = createBatcher(runner);

    expect(await batcher.submit(7)).toBe(70);
    expect(await Promise.all(range(5).map((n) => batcher.submit(n)))).toEqual([0, 10, 20, 30, 40]);

    expect(calls).toEqual([
      { kind: 'one', items: [7] },
      { kind: 'many', items: [0, 1, 2, 3, 4] },
    ]);
  });

  it('never puts two items with the same key in one batch, and keeps the rest in order', async () => {
    const { runner, calls } = recordingRunner({ key: (n) => String(n % 3) });
    const batcher = createBatcher(runner);

    const results = await Promise.all([0, 3, 1, 6, 2, 4].map((n) => batcher.submit(n)));

    expect(results).toEqual([0, 30, 10, 60, 20, 40]);
    for (const call of calls) {
      expect(new Set(call.items.map((n) => n % 3)).size).toBe(call.items.length);
    }
    expect(calls.map((c) => c.items)).toEqual([[0, 1, 2], [3, 4], [6]]);
  });

  it('stops a batch at maxItems and before it passes maxWeight', async () => {
    const byCount = recordingRunner({ maxItems: 4 });
    const batcher = createBatcher(byCount.runner);
    await Promise.all(range(10).map((n) => batcher.submit(n)));
    expect(byCount.calls.map((c) => c.items.length)).toEqual([4, 4, 2]);

    const byWeight = recordingRunner({ weight: (n) => n, maxWeight: 10 });
    const weighed = createBatcher(byWeight.runner);
    await Promise.all([9, 1, 5, 6, 20].map((n) => weighed.submit(n)));
    // A heavy item still goes out, alone: the weight cap never strands an item.
    expect(byWeight.calls.map((c) => c.items)).toEqual([[9, 1], [5], [6], [20]]);
  });

  it('runs no more than maxInFlight batches at once, and gathers the rest meanwhile', async () => {
    let running = 0;
    let most = 0;
    let statements = 0;
    const slow = async <T>(work: () => T): Promise<T> => {
      running += 1;
      statements += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running -= 1;
      return work();
    };
    const batcher = createBatcher<number, number>({
      runMany: (items) => slow(() => items.map((n) => n * 10)),
      runOne: (item) => slow(() => item * 10),
      changedNothing: statementFailed,
      maxItems: 100,
      maxInFlight: 2,
      maxWaitMs: 60_000,
    });

    // Thirty requests, one per turn of the event loop, each statement taking 5 ms.
    const pending: Promise<number>[] = [];
    for (const n of range(30)) {
      pending.push(batcher.submit(n));
      await new Promise((resolve) => setImmediate(resolve));
    }

    expect(await Promise.all(pending)).toEqual(range(30).map((n) => n * 10));
    expect(most).toBe(2);
    expect(statements).toBeLessThan(30);
  });

  it('retries a batch that was refused item by item, so only the bad item fails', async () => {
    const { runner, calls } = recordingRunner({}, (n) => n === 2);
    const batcher = createBatcher(runner);

    const settled = await Promise.allSettled(range(4).map((n) => batcher.submit(n)));

    expect(settled.map((s) => s.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    expect(calls.filter((c) => c.kind === 'one').map((c) => c.items[0])).toEqual([0, 1, 2, 3]);
  });

  it('never retries a batch whose outcome is unknown (a lost connection): every item fails', async () => {
    const lost = Object.assign(new Error('Connection terminated unexpectedly'), {});
    const { runner, calls } = recordingRunner();
    const batcher = createBatcher({
      ...runner,
      runMany: async (items) => {
        calls.push({ kind: 'many', items: [...items] });
        throw lost;
      },
    });

    const settled = await Promise.allSettled(range(3).map((n) => batcher.submit(n)));

    expect(settled.every((s) => s.status === 'rejected' && s.reason === lost)).toBe(true);
    expect(calls.filter((c) => c.kind === 'one')).toEqual([]);
  });

  it('fails an item that waited past maxWaitMs, without running it, and goes on with the rest', async () => {
    // The first item holds the only slot until released.
    const {
      batcher,
      started: ran,
      release,
    } = holdingBatcher<number>((item) => item === 0, { maxWaitMs: 50 });

    const stuck = batcher.submit(0);
    await new Promise((resolve) => setImmediate(resolve));
    const waiting = batcher.submit(1);

    await expect(waiting).rejects.toBeInstanceOf(BatchWaitTimeoutError);
    release();
    expect(await stuck).toBe(0);
    expect(await batcher.submit(2)).toBe(2);
    expect(ran).toEqual([0, 2]);
  });

  it('drops an item whose requester has gone before it runs', async () => {
    const { runner, calls } = recordingRunner();
    const batcher = createBatcher(runner);
    let left = false;

    const first = batcher.submit(0);
    const gone = batcher.submit(1, () => left);
    const stays = batcher.submit(2, () => false);
    left = true;

    await expect(gone).rejects.toBeInstanceOf(BatchItemDroppedError);
    expect(await Promise.all([first, stays])).toEqual([0, 20]);
    expect(calls.flatMap((c) => c.items)).toEqual([0, 2]);
  });

  it('runs a key in one batch at a time, so readers of one row cannot take every slot', async () => {
    const { batcher, started, release } = holdingBatcher<string>(
      (item, soFar) => item === 'hot' && soFar.length === 1,
      { key: (item) => item, maxInFlight: 3 },
    );

    const first = batcher.submit('hot');
    await new Promise((resolve) => setImmediate(resolve));
    const more = ['hot', 'hot', 'cold'].map((item) => batcher.submit(item));
    // The cold read goes through while the first hot one is stuck; the other hot ones wait.
    expect(await more[2]).toBe('cold');
    expect(started).toEqual(['hot', 'cold']);
    release();
    expect(await Promise.all([first, ...more])).toEqual(['hot', 'hot', 'hot', 'cold']);
    expect(started).toEqual(['hot', 'cold', 'hot', 'hot']);
  });

  it('does not retry, item by item, the items whose requester left while the batch ran', async () => {
    let left = false;
    const { runner, calls } = recordingRunner({}, (n) => n === 2);
    const batcher = createBatcher({
      ...runner,
      runMany: async (items) => {
        left = true;
        return runner.runMany(items);
      },
    });

    const settled = await Promise.allSettled([
      batcher.submit(0, () => left),
      batcher.submit(1),
      batcher.submit(2),
    ]);

    expect(settled[0].status === 'rejected' && settled[0].reason).toBeInstanceOf(
      BatchItemDroppedError,
    );
    expect(settled.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'rejected']);
    expect(calls.filter((c) => c.kind === 'one').map((c) => c.items[0])).toEqual([1, 2]);
  });

  it('tells statement failures (safe to retry) from the rest', () => {
    expect(statementFailed({ code: '23505' })).toBe(true);
    expect(statementFailed({ code: '40P01' })).toBe(true);
    expect(statementFailed({ code: '55P03' })).toBe(true);
    expect(statementFailed(null)).toBe(false);
    expect(statementFailed({ code: '22P02' })).toBe(true);
    expect(statementFailed({ code: '08006' })).toBe(false);
    expect(statementFailed({ code: '40003' })).toBe(false);
    expect(statementFailed({ code: 'ECONNRESET' })).toBe(false);
    expect(statementFailed(new Error('no code'))).toBe(false);
  });
});

/** Counts the statements a service sends, by kind, on top of a real database. */
function counting(db: Queryable) {
  const sent = { insertMany: 0, consumeMany: 0 };
  const wrapped: Queryable = {
    query: (sql, params) => {
      if (sql === INSERT_MESSAGES) sent.insertMany += 1;
      if (sql === CONSUME_OPEN_MANY) sent.consumeMany += 1;
      return db.query(sql, params);
    },
    exec: (sql) => db.exec(sql),
  };
  return { sent, wrapped };
}

const cipher = createMessageCipher([FernetKey.generate()]);
const quiet = { destroyedAfterFailures: () => undefined, undecryptable: () => undefined };

async function addUser(db: Queryable): Promise<string> {
  const id = randomUUID();
  await db.query('INSERT INTO users (id, username, password_hash) VALUES ($1, $2, $3)', [
    id,
    `u${id.slice(0, 8)}`,
    'not-a-hash',
  ]);
  return id;
}

/**
 * Locks rows of messages in another transaction, as a long transaction elsewhere would;
 * `release` commits it. `end` closes the connection (call it in any case).
 */
async function lockRows(adminUrl: string | undefined, ids: string[]) {
  const locker = new pg.Client({ connectionString: adminUrl });
  await locker.connect();
  await locker.query('BEGIN');
  await locker.query('SELECT 1 FROM messages WHERE id = ANY($1::uuid[]) FOR UPDATE', [ids]);
  return {
    release: async () => {
      await locker.query('COMMIT');
    },
    end: () => locker.end(),
  };
}

function revealed(outcome: RevealOutcome): string | undefined {
  return outcome.kind === 'revealed' ? outcome.message.message : undefined;
}

const message = (ownerId: string, text: string, maxViews = 1) => ({
  ownerId,
  message: text,
  expiresIn: 3600,
  maxViews,
  passphrase: undefined,
});

const engines: {
  name: string;
  /** Whether a second process can open it (the embedded database has one process only). */
  replicas: boolean;
  open(): Promise<{ db: Database; inFlight: number; reopen?: () => Database }>;
  close(): Promise<void>;
}[] = [];

let pgDatabase: TestDatabase | undefined;
const embeddedDir = mkdtempSync(join(tmpdir(), 'sealnote-batch-'));
engines.push(
  {
    name: 'PostgreSQL',
    replicas: true,
    async open() {
      pgDatabase ??= await createTestDatabase();
      const url = pgDatabase.appUrl;
      return { db: openPostgres(url), inFlight: 4, reopen: () => openPostgres(url) };
    },
    async close() {
      await pgDatabase?.drop();
    },
  },
  {
    name: 'embedded PGlite',
    replicas: false,
    async open() {
      const db = await openEmbedded(embeddedDir);
      await migrate(db);
      return { db, inFlight: 1 };
    },
    async close() {
      rmSync(embeddedDir, { recursive: true, force: true });
    },
  },
);

describe.each(engines)('batched statements on $name', (engine) => {
  let db: Database;
  let inFlight: number;
  let reopen: (() => Database) | undefined;
  let sent: { insertMany: number; consumeMany: number };
  let service: MessageService;

  beforeAll(async () => {
    ({ db, inFlight, reopen } = await engine.open());
    const counted = counting(db);
    sent = counted.sent;
    service = createMessageService(counted.wrapped, cipher, quiet, {
      maxBatchesInFlight: inFlight,
    });
  });
  afterAll(async () => {
    await db.close();
    await engine.close();
  });

  it('gives each of 200 concurrent creates and reads its own message, in fewer statements', async () => {
    const owners = [await addUser(db), await addUser(db)];
    const texts = range(200).map((n) => `secret ${String(n)} 🔥`);
    sent.insertMany = 0;
    sent.consumeMany = 0;

    const created = await Promise.all(
      texts.map((text, n) => service.create(message(owners[n % 2] ?? '', text))),
    );
    expect(new Set(created.map((c) => c.id)).size).toBe(200);
    expect(sent.insertMany).toBeGreaterThan(0);
    expect(sent.insertMany).toBeLessThan(200);

    const read = await Promise.all(created.map((c) => service.reveal(c.id, undefined)));
    expect(read.map(revealed)).toEqual(texts);
    expect(sent.consumeMany).toBeGreaterThan(0);
    expect(sent.consumeMany).toBeLessThan(200);

    const owned = await service.listOwned(owners[0] ?? '');
    expect(owned).toEqual([]);
    const again = await Promise.all(created.map((c) => service.reveal(c.id, undefined)));
    expect(again.every((o) => o.kind === 'gone')).toBe(true);
  });

  it('fails only the create whose account is gone when it shares a batch', async () => {
    const owner = await addUser(db);
    const deleted = randomUUID();

    const settled = await Promise.allSettled([
      service.create(message(owner, 'a')),
      service.create(message(deleted, 'b')),
      service.create(message(owner, 'c')),
    ]);

    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const refused = settled[1];
    expect(refused.status === 'rejected' && refused.reason instanceof AppError).toBe(true);
    const ids = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value.id] : []));
    expect(
      (await Promise.all(ids.map((id) => service.reveal(id, undefined)))).map(revealed),
    ).toEqual(['a', 'c']);
  });

  it('hands out each view once when the same messages are read many times at once', async () => {
    const owner = await addUser(db);
    const once = await service.create(message(owner, 'once'));
    const thrice = await service.create(message(owner, 'thrice', 3));
    const others = await Promise.all(
      range(40).map((n) => service.create(message(owner, `o${String(n)}`))),
    );

    const reads = [
      ...range(50).map(() => once.id),
      ...range(20).map(() => thrice.id),
      ...others.map((o) => o.id),
    ].sort(() => Math.random() - 0.5);
    const outcomes = await Promise.all(reads.map((id) => service.reveal(id, undefined)));

    const got = (text: string) => outcomes.filter((o) => revealed(o) === text).length;
    expect(got('once')).toBe(1);
    expect(got('thrice')).toBe(3);
    for (let n = 0; n < 40; n++) expect(got(`o${String(n)}`)).toBe(1);
    expect(outcomes.filter((o) => o.kind === 'gone')).toHaveLength(49 + 17);
  });

  // Only PostgreSQL has other connections and other processes; PGlite has one of each.
  const itWithReplicas = engine.replicas ? it : undefined;

  itWithReplicas?.(
    'drops a read queued behind locked rows once its requester leaves: the view stays',
    async () => {
      const owner = await addUser(db);
      const [a, b, victim] = await Promise.all(
        ['a', 'b', 'victim'].map((text) => service.create(message(owner, text))),
      );
      if (a === undefined || b === undefined || victim === undefined) throw new Error('setup');
      const narrow = createMessageService(db, cipher, quiet, { maxBatchesInFlight: 2 });
      // Another transaction holds rows a and b, so the two reads of them take both slots.
      const lock = await lockRows(pgDatabase?.adminUrl, [a.id, b.id]);
      try {
        const first = narrow.reveal(a.id, undefined);
        const second = narrow.reveal(b.id, undefined);
        await new Promise((resolve) => setTimeout(resolve, 100));
        let left = false;
        // Settled from the start, so the rejection is never unhandled.
        const queued = narrow.reveal(victim.id, undefined, () => left).catch((err: unknown) => err);
        left = true;
        await lock.release();

        expect(await queued).toBeInstanceOf(BatchItemDroppedError);
        expect([revealed(await first), revealed(await second)]).toEqual(['a', 'b']);
        expect(await service.exists(victim.id)).toBe(true);
        expect(revealed(await service.reveal(victim.id, undefined))).toBe('victim');
      } finally {
        await lock.end();
      }
    },
  );

  itWithReplicas?.(
    'gives the view back when the reader leaves while its statement waits on a locked row',
    async () => {
      const owner = await addUser(db);
      const target = await service.create(message(owner, 'held'));
      const lock = await lockRows(pgDatabase?.adminUrl, [target.id]);
      try {
        let left = false;
        const read = service.reveal(target.id, undefined, () => left).catch((err: unknown) => err);
        await new Promise((resolve) => setTimeout(resolve, 100));
        left = true;
        await lock.release();

        expect(await read).toBeInstanceOf(BatchItemDroppedError);
        expect(revealed(await service.reveal(target.id, undefined))).toBe('held');
      } finally {
        await lock.end();
      }
    },
  );

  itWithReplicas?.(
    'does not deadlock when two replicas read overlapping messages in opposite orders',
    async () => {
      if (reopen === undefined) throw new Error('this engine cannot be opened twice');
      const other = reopen();
      try {
        const replica = createMessageService(other, cipher, quiet, { maxBatchesInFlight: 4 });
        const owner = await addUser(db);
        const ids = (
          await Promise.all(
            range(30).map((n) => service.create(message(owner, `m${String(n)}`, 100))),
          )
        ).map((c) => c.id);

        const rounds = range(3).flatMap(() => [
          ...ids.map((id) => service.reveal(id, undefined)),
          ...[...ids].reverse().map((id) => replica.reveal(id, undefined)),
        ]);
        const outcomes = await Promise.all(rounds);

        expect(outcomes.every((o) => o.kind === 'revealed')).toBe(true);
        const left = await db.query<{ total: string }>(
          'SELECT sum(views_left)::text AS total FROM messages WHERE id = ANY($1::uuid[])',
          [ids],
        );
        expect(Number(left[0]?.total)).toBe(30 * 100 - outcomes.length);
      } finally {
        await other.close();
      }
    },
  );
});
