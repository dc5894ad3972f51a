/**
 * The SQL of the message statements that run on every read and write, in one place: the
 * service runs them, and the benchmark's baseline (scripts/bench-baseline.ts) sends the very
 * same text, so that the two are compared on equal database work.
 */

/** The tenth wrong passphrase destroys the message: online guessing stops there. */
export const MAX_PASSPHRASE_FAILURES = 10;

export const LIVE = 'm.views_left > 0 AND m.expires_at > now()';

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

/** Takes a view of a message without passphrase. */
export const CONSUME_OPEN = consumeSql('AND m.passphrase_hash IS NULL');
/** Takes a view of a passphrase-protected message once its passphrase checked out. */
export const CONSUME_GATED = consumeSql(
  `AND m.passphrase_hash IS NOT NULL AND m.failed_attempts < ${MAX_PASSPHRASE_FAILURES}`,
  ',\n         checks_in_flight = greatest(m.checks_in_flight - 1, 0)',
);

/**
 * The batched form of CONSUME_OPEN: takes one view of each of the messages $1 (distinct ids).
 * The rows are locked first, in id order, so that two batches that share messages (from two
 * replicas, say) wait for each other instead of deadlocking. A locking read returns the row
 * as it is once locked, so `locked.content` is the content before this statement's update.
 */
export const CONSUME_OPEN_MANY = `
  WITH locked AS (
    SELECT m.id, m.content FROM messages AS m
     WHERE m.id = ANY($1::uuid[]) AND ${LIVE} AND m.passphrase_hash IS NULL
     ORDER BY m.id
       FOR UPDATE
  )
  UPDATE messages AS m
     SET views_left = m.views_left - 1,
         content = CASE WHEN m.views_left = 1 THEN NULL ELSE m.content END
    FROM locked
   WHERE m.id = locked.id AND ${LIVE}
  RETURNING m.id, locked.content, m.created_at, m.expires_at, m.views_left`;

/** Stores a message: $1 id, $2 owner, $3 sealed content, $4 passphrase hash, $5 views, $6 seconds. */
export const INSERT_MESSAGE = `
  INSERT INTO messages (id, owner_id, content, passphrase_hash, max_views, views_left, expires_at)
  VALUES ($1, $2, $3, $4, $5, $5, now() + make_interval(secs => $6))
  RETURNING id, expires_at, max_views`;

/** The batched form of INSERT_MESSAGE: one row per element of the arrays $1 to $6. */
export const INSERT_MESSAGES = `
  INSERT INTO messages (id, owner_id, content, passphrase_hash, max_views, views_left, expires_at)
  SELECT t.id, t.owner_id, t.content, t.passphrase_hash, t.max_views, t.max_views,
         now() + make_interval(secs => t.expires_in)
    FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::int[], $6::int[])
         AS t(id, owner_id, content, passphrase_hash, max_views, expires_in)
  RETURNING id, expires_at, max_views`;
