import type { MessageCipher } from '../crypto/message-cipher.js';
import type { Queryable } from '../storage/database.js';

export interface RotationReport {
  examined: number;
  rotated: number;
  failed: number;
}

/**
 * Re-encrypts every stored message under the first key, in small batches, while the service
 * keeps running: each row is swapped only if it still holds the token that was read, so a
 * view taken meanwhile is never undone.
 */
export async function rotateKeys(
  db: Queryable,
  cipher: MessageCipher,
  batchSize = 200,
): Promise<RotationReport> {
  const report: RotationReport = { examined: 0, rotated: 0, failed: 0 };
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const rows = await db.query<{ id: string; content: string }>(
      `SELECT id, content FROM messages
        WHERE content IS NOT NULL AND id > $1 ORDER BY id LIMIT $2`,
      [after, batchSize],
    );
    for (const row of rows) {
      report.examined += 1;
      if (cipher.isCurrent(row.content)) continue;
      let fresh: string;
      try {
        fresh = cipher.seal(row.id, cipher.open(row.id, row.content));
      } catch {
        report.failed += 1;
        continue;
      }
      const swapped = await db.query(
        'UPDATE messages SET content = $2 WHERE id = $1 AND content = $3 RETURNING 1',
        [row.id, fresh, row.content],
      );
      if (swapped.length > 0) report.rotated += 1;
    }
    const last = rows.at(-1);
    if (last === undefined || rows.length < batchSize) break;
    after = last.id;
  }
  return report;
}
