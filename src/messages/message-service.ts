import { randomUUID } from 'node:crypto';
import { hashSecret, verifySecret } from '../accounts/passwords.js';
import type { MessageCipher } from '../crypto/message-cipher.js';
import { AppError } from '../errors.js';
import { BatchItemDroppedError, createBatcher, statementFailed } from '../storage/batcher.js';
import type { Queryable } from '../storage/database.js';
import {
  CONSUME_GATED,
  CONSUME_OPEN,
  CONSUME_OPEN_MANY,
  INSERT_MESSAGE,
  INSERT_MESSAGES,
  LIVE,
  MAX_PASSPHRASE_FAILURES,
} from './statements.js';

export { MAX_PASSPHRASE_FAILURES } from './statements.js';

export interface NewMessage {
  ownerId: string;
  message: string;
  expiresIn: number;
  maxViews: number;
  passphrase: string | undefined;
}

export interface RevealedMessage {
  id: string;
  message: string;
  created_at: Date;
  expires_at: Date;
  views_left: number;
}

export interface OwnedMessage {
  id: string;
  created_at: Date;
  expires_at: Date;
  max_views: number;
  views_left: number;
  has_passphrase: boolean;
}

export type RevealOutcome =
  | { kind: 'revealed'; message: RevealedMessage }
  | { kind: 'gone' }
  | { kind: 'passphrase_required' }
  | { kind: 'wrong_passphrase'; destroyed: boolean }
  /** Ten passphrase checks are already under way: try again in a moment. */
  | { kind: 'busy' };

interface ConsumedRow {
  id: string;
  content: string | null;
  created_at: Date;
  expires_at: Date;
  views_left: number;
}

interface CreatedRow {
  id: string;
  expires_at: Date;
  max_views: number;
}

/** The columns of one new row, in the order of INSERT_MESSAGE's parameters. */
type InsertParams = [
  id: string,
  ownerId: string,
  sealed: string,
  passphraseHash: string | null,
  maxViews: number,
  expiresIn: number,
];

export interface MessageServiceEvents {
  destroyedAfterFailures(id: string): void;
  undecryptable(): void;
}

export interface MessageServiceOptions {
  /**
   * Batched statements that may run at once: at most the connections the database offers.
   * Creates and reads each get this many. 1 for the embedded database, which runs one
   * statement at a time anyway.
   */
  maxBatchesInFlight: number;
}

/**
 * The passphrase checks of message `m` still under way; stale ones are not (see revealGated).
 * Counts from before migration 4 have no checks_since: they are stale too.
 */
const CHECKS_UNDER_WAY = `(CASE WHEN m.checks_since IS NULL
          OR m.checks_since < now() - interval '60 seconds' THEN 0
        ELSE m.checks_in_flight END)`;

/** Rows per batched statement, and the ciphertext bytes an insert batch carries at most. */
const MAX_BATCH_ROWS = 64;
const MAX_BATCH_BYTES = 1024 * 1024;
/** A request waits this long for its batch to start, as long as for a pooled connection. */
const MAX_BATCH_WAIT_MS = 5_000;

function byId<T extends { id: string }>(rows: readonly T[]): Map<string, T> {
  return new Map(rows.map((row) => [row.id, row]));
}

export function createMessageService(
  db: Queryable,
  cipher: MessageCipher,
  events: MessageServiceEvents,
  options: MessageServiceOptions = { maxBatchesInFlight: 1 },
) {
  // The two statements every create and every read runs go out in batches under load (see
  // storage/batcher.ts): one round trip, plan and commit then serves many requests. A batch
  // of one runs the single-row statement, so a quiet server runs exactly what it always did.
  const inserts = createBatcher<InsertParams, CreatedRow>({
    async runOne(params) {
      const [row] = await db.query<CreatedRow>(INSERT_MESSAGE, params);
      if (row === undefined) throw new Error('insert returned no row');
      return row;
    },
    async runMany(batch) {
      const columns = batch[0]?.map((_, i) => batch.map((params) => params[i])) ?? [];
      const rows = byId(await db.query<CreatedRow>(INSERT_MESSAGES, columns));
      return batch.map(([id]) => {
        const row = rows.get(id);
        if (row === undefined) throw new Error('batched insert returned no row');
        return row;
      });
    },
    changedNothing: statementFailed,
    weight: ([, , sealed]) => sealed.length,
    maxWeight: MAX_BATCH_BYTES,
    maxItems: MAX_BATCH_ROWS,
    maxInFlight: options.maxBatchesInFlight,
    maxWaitMs: MAX_BATCH_WAIT_MS,
  });

  const consumes = createBatcher<string, ConsumedRow | undefined>({
    async runOne(id) {
      const [row] = await db.query<ConsumedRow>(CONSUME_OPEN, [id]);
      return row;
    },
    async runMany(ids) {
      const rows = byId(await db.query<ConsumedRow>(CONSUME_OPEN_MANY, [ids]));
      return ids.map((id) => rows.get(id));
    },
    changedNothing: statementFailed,
    // Two reads of one message never share a statement: each takes its own view, or none.
    key: (id) => id,
    maxItems: MAX_BATCH_ROWS,
    maxInFlight: options.maxBatchesInFlight,
    maxWaitMs: MAX_BATCH_WAIT_MS,
  });

  /**
   * Decrypts what a consume statement returned. If no key opens it (a key missing from
   * ENCRYPTION_KEYS), the view is given back, ciphertext included, so that an operator's
   * mistake does not burn the message: it opens again once the key is restored.
   */
  async function opened(
    row: ConsumedRow | undefined,
    gone: (() => boolean) | undefined,
  ): Promise<RevealOutcome> {
    if (row?.content == null) return { kind: 'gone' };
    const giveBack = (content: string) =>
      // The ciphertext comes back only where the consume erased it: a rotation that rewrote
      // the row meanwhile keeps its newer ciphertext.
      db.query(
        'UPDATE messages SET views_left = views_left + 1, content = coalesce(content, $2) WHERE id = $1',
        [row.id, content],
      );
    let text: string;
    try {
      text = cipher.open(row.id, row.content);
    } catch (err) {
      await giveBack(row.content);
      events.undecryptable();
      throw err;
    }
    if (gone?.() === true) {
      // The reader hung up while the statement ran (a locked row, a slow database): the
      // answer cannot reach them, so the view they paid for goes back.
      await giveBack(row.content);
      throw new BatchItemDroppedError();
    }
    return {
      kind: 'revealed',
      message: {
        id: row.id,
        message: text,
        created_at: row.created_at,
        expires_at: row.expires_at,
        views_left: row.views_left,
      },
    };
  }

  async function releaseCheck(id: string): Promise<void> {
    await db.query(
      'UPDATE messages SET checks_in_flight = greatest(checks_in_flight - 1, 0) WHERE id = $1',
      [id],
    );
  }

  async function revealGated(
    id: string,
    passphrase: string,
    gone: (() => boolean) | undefined,
  ): Promise<RevealOutcome> {
    // A check is admitted before the slow hash runs, and only while the wrong answers so far
    // plus the checks under way stay below ten: a burst of parallel guesses cannot slip more
    // than ten past the gate. Only a wrong answer counts as a failure.
    // Checks counted in flight for over a minute since the latest one began belong to a
    // process that died mid-check (no check lives that long: every statement of one times
    // out sooner), so they no longer count and the count starts over.
    const [gate] = await db.query<{ passphrase_hash: string | null }>(
      `UPDATE messages AS m
          SET checks_in_flight = ${CHECKS_UNDER_WAY} + 1, checks_since = now()
        WHERE m.id = $1 AND ${LIVE} AND m.passphrase_hash IS NOT NULL
          AND m.failed_attempts + ${CHECKS_UNDER_WAY} < $2
        RETURNING m.passphrase_hash`,
      [id, MAX_PASSPHRASE_FAILURES],
    );
    if (gate?.passphrase_hash == null) {
      const [state] = await db.query<{ failed_attempts: number }>(
        `SELECT m.failed_attempts FROM messages AS m WHERE m.id = $1 AND ${LIVE}`,
        [id],
      );
      if (state === undefined) return { kind: 'gone' };
      if (state.failed_attempts >= MAX_PASSPHRASE_FAILURES) {
        // Ten wrong answers were counted but the process stopped before deleting it.
        await db.query('DELETE FROM messages WHERE id = $1', [id]);
        return { kind: 'gone' };
      }
      return { kind: 'busy' };
    }

    // From here the admitted check must be settled: by the consume, by counting a failure,
    // or, if either fails (a timeout, a lost connection), by releasing it, so that a fault
    // does not leave the message looking busy.
    let settled = false;
    let failed: { failed_attempts: number } | undefined;
    try {
      if (await verifySecret(gate.passphrase_hash, passphrase)) {
        const [row] = await db.query<ConsumedRow>(CONSUME_GATED, [id]);
        if (row === undefined) await releaseCheck(id);
        settled = true;
        return await opened(row, gone);
      }
      [failed] = await db.query<{ failed_attempts: number }>(
        `UPDATE messages SET failed_attempts = failed_attempts + 1,
                checks_in_flight = greatest(checks_in_flight - 1, 0)
          WHERE id = $1 RETURNING failed_attempts`,
        [id],
      );
      settled = true;
    } catch (err) {
      if (!settled) await releaseCheck(id).catch(() => undefined);
      throw err;
    }
    if (failed === undefined) return { kind: 'wrong_passphrase', destroyed: true };
    if (failed.failed_attempts >= MAX_PASSPHRASE_FAILURES) {
      await db.query('DELETE FROM messages WHERE id = $1', [id]);
      events.destroyedAfterFailures(id);
      return { kind: 'wrong_passphrase', destroyed: true };
    }
    return { kind: 'wrong_passphrase', destroyed: false };
  }

  return {
    /** `gone` says whether the requester has left; a create nobody waits for is dropped. */
    async create(
      input: NewMessage,
      gone?: () => boolean,
    ): Promise<{ id: string; expires_at: Date; max_views: number }> {
      const id = randomUUID();
      const passphraseHash =
        input.passphrase === undefined ? null : await hashSecret(input.passphrase);
      return inserts
        .submit(
          [
            id,
            input.ownerId,
            cipher.seal(id, input.message),
            passphraseHash,
            input.maxViews,
            input.expiresIn,
          ],
          gone,
        )
        .catch((err: unknown) => {
          // 23503: the token's account no longer exists (deleted after the token was issued).
          if ((err as { code?: unknown }).code === '23503') throw new AppError('unauthorized');
          throw err;
        });
    },

    /**
     * Consumes one view if the message is live and its passphrase (if any) is right. A read
     * whose requester has left (`gone`) before its statement runs takes nothing.
     */
    async reveal(
      id: string,
      passphrase: string | undefined,
      gone?: () => boolean,
    ): Promise<RevealOutcome> {
      const row = await consumes.submit(id, gone);
      if (row !== undefined) return opened(row, gone);

      const [state] = await db.query<{ gated: boolean }>(
        `SELECT m.passphrase_hash IS NOT NULL AS gated FROM messages AS m
          WHERE m.id = $1 AND ${LIVE}`,
        [id],
      );
      if (state === undefined) return { kind: 'gone' };
      if (!state.gated) return opened((await db.query<ConsumedRow>(CONSUME_OPEN, [id]))[0], gone);
      if (passphrase === undefined) return { kind: 'passphrase_required' };
      return revealGated(id, passphrase, gone);
    },

    /** Whether a message is live; reads nothing and consumes nothing. */
    async exists(id: string): Promise<boolean> {
      const rows = await db.query(`SELECT 1 FROM messages AS m WHERE m.id = $1 AND ${LIVE}`, [id]);
      return rows.length > 0;
    },

    async listOwned(ownerId: string): Promise<OwnedMessage[]> {
      return db.query<OwnedMessage>(
        `SELECT m.id, m.created_at, m.expires_at, m.max_views, m.views_left,
                m.passphrase_hash IS NOT NULL AS has_passphrase
           FROM messages AS m
          WHERE m.owner_id = $1 AND ${LIVE}
          ORDER BY m.created_at DESC
          LIMIT 1000`,
        [ownerId],
      );
    },

    /** Deletes a message its owner no longer wants shared; false when it is not theirs. */
    async remove(id: string, ownerId: string): Promise<boolean> {
      const rows = await db.query(
        `DELETE FROM messages AS m WHERE m.id = $1 AND m.owner_id = $2 AND ${LIVE} RETURNING 1`,
        [id, ownerId],
      );
      return rows.length > 0;
    },

    /** Deletes expired and spent rows; reads already ignore them, this frees the space. */
    async purge(): Promise<number> {
      const rows = await db.query(
        `DELETE FROM messages
          WHERE expires_at <= now() OR views_left = 0 OR failed_attempts >= ${MAX_PASSPHRASE_FAILURES}
          RETURNING 1`,
      );
      await db.query('DELETE FROM revoked_tokens WHERE expires_at <= now()');
      return rows.length;
    },
  };
}

export type MessageService = ReturnType<typeof createMessageService>;
