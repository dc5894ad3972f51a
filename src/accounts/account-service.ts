import { randomUUID } from 'node:crypto';
import { AppError } from '../errors.js';
import type { Queryable } from '../storage/database.js';
import { characterCount, hashSecret, normalizeSecret, verifySecret } from './passwords.js';

export const PASSWORD_MIN_CHARS = 12;
export const PASSWORD_MAX_CHARS = 256;

export interface Account {
  id: string;
  username: string;
}

export interface AccountService {
  register(username: string, password: string): Promise<Account>;
  /** The account for these credentials, or undefined: the caller cannot tell which part was wrong. */
  authenticate(username: string, password: string): Promise<Account | undefined>;
  find(id: string): Promise<Account | undefined>;
}

function checkPassword(password: string): void {
  // Lone surrogates all become U+FFFD in UTF-8, so two different passwords would collide.
  if (!password.isWellFormed()) {
    throw new AppError('invalid_password', 'A password must be well-formed Unicode');
  }
  const length = characterCount(normalizeSecret(password));
  if (length < PASSWORD_MIN_CHARS || length > PASSWORD_MAX_CHARS) {
    throw new AppError(
      'invalid_password',
      `A password has ${PASSWORD_MIN_CHARS} to ${PASSWORD_MAX_CHARS} characters`,
    );
  }
}

export function createAccountService(db: Queryable): AccountService {
  // Unknown usernames are checked against this hash, so that they cost as much time as a
  // wrong password and the timing does not tell which usernames exist.
  // Made at start, so that not even the first unknown username answers at another speed.
  const decoy = hashSecret(randomUUID());
  const decoyHash = () => decoy;

  return {
    async register(username, password) {
      checkPassword(password);
      const passwordHash = await hashSecret(password);
      const rows = await db.query<Account>(
        `INSERT INTO users (id, username, password_hash) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING RETURNING id, username`,
        [randomUUID(), username, passwordHash],
      );
      const account = rows[0];
      if (account === undefined) throw new AppError('username_taken');
      return account;
    },

    async authenticate(username, password) {
      if (!password.isWellFormed()) {
        await verifySecret(await decoyHash(), password.toWellFormed());
        return undefined;
      }
      const [row] = await db.query<Account & { password_hash: string }>(
        'SELECT id, username, password_hash FROM users WHERE lower(username) = lower($1)',
        [username],
      );
      if (row === undefined) {
        await verifySecret(await decoyHash(), password);
        return undefined;
      }
      if (!(await verifySecret(row.password_hash, password))) return undefined;
      return { id: row.id, username: row.username };
    },

    async find(id) {
      const [row] = await db.query<Account>('SELECT id, username FROM users WHERE id = $1', [id]);
      return row;
    },
  };
}
