import { randomUUID } from 'node:crypto';
import { hashSecret, verifySecret } from '../accounts/passwords.js';
import type { MessageCipher } from '../crypto/message-cipher.js';
import { AppError } from '../errors.js';
import type { Queryable } from '../storage/database.js';

/** The tenth wrong passphrase destroys the message: online guessing stops there. */
export const MAX_PASSPHRASE_FAILURES = 10;

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

const LIVE = 'm.views_left > 0 AND m.expires_at > now()';

/**
 * Takes one view in a single statement, so that concurrent readers serialise on the row lock
 * and each view is handed out once. The self-join returns the content as it was before this
 * statement, while the row itself loses the ciphertext when its last view goes. Spent rows are
 * deleted by the purge.
 */
const consumeSql = (extra: string, setExtra = '') => `
  UPDATE messages AS m
     SET views_left = m.views_left - 1,
         content = CASE WHEN m.views_left = 1 THEN NULL ELSE m.content END${setExtra}
    FROM messages AS prev
   WHERE m.id = $1 AND prev.id = m.id AND ${LIVE} ${extra}
  RETURNING m.id, prev.content, m.created_at, m.expires_at, m.views_left`;

const CONSUME_OPEN = consumeSql('AND m.passphrase_hash IS NULL');
const CONSUME_GATED = consumeSql(
  `AND m.passphrase_hash IS NOT NULL AND m.failed_attempts < ${MAX_PASSPHRASE_FAILURES}`,
  ',\n         checks_in_flight = greatest(m.checks_in_flight - 1, 0)',
);

export interface MessageServiceEvents {
  destroyedAfterFailures(id: string): void;
  undecryptable(): void;
}

export function createMessageService(
  db: Queryable,
  cipher: MessageCipher,
  events: MessageServiceEvents,
) {
  /**
   * Decrypts what a consume statement returned. If no key opens it (a key missing from
   * ENCRYPTION_KEYS), the view is given back, ciphertext included, so that an operator's
   * mistake does not burn the message: it opens again once the key is restored.
   */
  async function opened(row: ConsumedRow | undefined): Promise<RevealOutcome> {
    if (row?.content == null) return { kind: 'gone' };
    let text: string;
    try {
      text = cipher.open(row.id, row.content);
    } catch (err) {
      await db.query(
        'UPDATE messages SET views_left = views_left + 1, content = $2 WHERE id = $1',
        [row.id, row.content],
      );
      events.undecryptable();
      throw err;
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

  async function revealGated(id: string, passphrase: string): Promise<RevealOutcome> {
    // A check is admitted before the slow hash runs, and only while the wrong answers so far
    // plus the checks under way stay below ten: a burst of parallel guesses cannot slip more
    // than ten past the gate. Only a wrong answer counts as a failure.
    const [gate] = await db.query<{ passphrase_hash: string | null }>(
      `UPDATE messages AS m SET checks_in_flight = m.checks_in_flight + 1
        WHERE m.id = $1 AND ${LIVE} AND m.passphrase_hash IS NOT NULL
          AND m.failed_attempts + m.checks_in_flight < $2
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

    if (await verifySecret(gate.passphrase_hash, passphrase)) {
      const [row] = await db.query<ConsumedRow>(CONSUME_GATED, [id]);
      if (row === undefined) await releaseCheck(id);
      return opened(row);
    }
    const [failed] = await db.query<{ failed_attempts: number }>(
      `UPDATE messages SET failed_attempts = failed_attempts + 1,
              checks_in_flight = greatest(checks_in_flight - 1, 0)
        WHERE id = $1 RETURNING failed_attempts`,
      [id],
    );
    if (failed === undefined) return { kind: 'wrong_passphrase', destroyed: true };
    if (failed.failed_attempts >= MAX_PASSPHRASE_FAILURES) {
      await db.query('DELETE FROM messages WHERE id = $1', [id]);
      events.destroyedAfterFailures(id);
      return { kind: 'wrong_passphrase', destroyed: true };
    }
    return { kind: 'wrong_passphrase', destroyed: false };
  }

  return {
    async create(input: NewMessage): Promise<{ id: string; expires_at: Date; max_views: number }> {
      const id = randomUUID();
      const passphraseHash =
        input.passphrase === undefined ? null : await hashSecret(input.passphrase);
      const [row] = await db
        .query<{ id: string; expires_at: Date; max_views: number }>(
          `INSERT INTO messages (id, owner_id, content, passphrase_hash, max_views, views_left,
                               expires_at)
         VALUES ($1, $2, $3, $4, $5, $5, now() + make_interval(secs => $6))
         RETURNING id, expires_at, max_views`,
          [
            id,
            input.ownerId,
            cipher.seal(id, input.message),
            passphraseHash,
            input.maxViews,
            input.expiresIn,
          ],
        )
        .catch((err: unknown) => {
          // 23503: the token's account no longer exists (deleted after the token was issued).
          if ((err as { code?: unknown }).code === '23503') throw new AppError('unauthorized');
          throw err;
        });
      if (row === undefined) throw new Error('insert returned no row');
      return row;
    },

    /** Consumes one view if the message is live and its passphrase (if any) is right. */
    async reveal(id: string, passphrase: string | undefined): Promise<RevealOutcome> {
      const [row] = await db.query<ConsumedRow>(CONSUME_OPEN, [id]);
      if (row !== undefined) return opened(row);

      const [state] = await db.query<{ gated: boolean }>(
        `SELECT m.passphrase_hash IS NOT NULL AS gated FROM messages AS m
          WHERE m.id = $1 AND ${LIVE}`,
        [id],
      );
      if (state === undefined) return { kind: 'gone' };
      if (!state.gated) return opened((await db.query<ConsumedRow>(CONSUME_OPEN, [id]))[0]);
      if (passphrase === undefined) return { kind: 'passphrase_required' };
      return revealGated(id, passphrase);
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
