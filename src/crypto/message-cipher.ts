import { Keyring } from './fernet.js';

/**
 * Encryption at rest for message content. Fernet has no associated data, so the message id is
 * put in front of the plaintext and checked on the way out: a token copied into another row
 * (by someone with write access to the table) does not open there.
 */
export interface MessageCipher {
  seal(id: string, text: string): string;
  /** Throws if the token is not valid under any key or belongs to another message. */
  open(id: string, token: string): string;
  /** True when the token is already under the first (current) key. */
  isCurrent(token: string): boolean;
}

export class MessageBindingError extends Error {
  constructor() {
    super('ciphertext does not belong to this message');
    this.name = 'MessageBindingError';
  }
}

const prefix = (id: string) => `sealnote:v1:${id.toLowerCase()}\n`;

export function createMessageCipher(keys: string[]): MessageCipher {
  const keyring = new Keyring(keys);
  return {
    seal(id, text) {
      return keyring.encrypt(Buffer.from(prefix(id) + text, 'utf8'));
    },
    open(id, token) {
      const plain = keyring.decrypt(token).toString('utf8');
      const expected = prefix(id);
      if (!plain.startsWith(expected)) throw new MessageBindingError();
      return plain.slice(expected.length);
    },
    isCurrent(token) {
      return keyring.isCurrent(token);
    },
  };
}
