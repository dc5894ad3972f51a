/**
 * The signed-in session. The access token lives in sessionStorage (this tab only, gone when the
 * tab closes) and never in localStorage, which any later visitor of the profile could read.
 */

const STORAGE_KEY = 'sealnote.session';
/** Treat the token as expired a little early so a request does not race its expiry. */
const EXPIRY_MARGIN_MS = 5_000;

export interface Session {
  readonly token: string;
  readonly username: string;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
}

function isSession(value: unknown): value is Session {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const record = value as Record<string, unknown>;
  return (
    typeof record.token === 'string' &&
    typeof record.username === 'string' &&
    typeof record.expiresAt === 'number'
  );
}

export class SessionStore {
  #session: Session | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #onExpire: () => void;

  constructor(onExpire: () => void) {
    this.#onExpire = onExpire;
  }

  /** Restores a session saved by this tab earlier (a reload), if it has not expired. */
  restore(): Session | null {
    let saved: unknown = null;
    try {
      saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null');
    } catch {
      saved = null;
    }
    if (isSession(saved) && saved.expiresAt - EXPIRY_MARGIN_MS > Date.now()) {
      this.#set(saved);
    } else {
      this.clear();
    }
    return this.#session;
  }

  get current(): Session | null {
    return this.#session;
  }

  start(token: string, username: string, expiresInSeconds: number): Session {
    const session = { token, username, expiresAt: Date.now() + expiresInSeconds * 1000 };
    this.#set(session);
    try {
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
    } catch {
      // Storage may be disabled; the session then lasts as long as the page.
    }
    return session;
  }

  clear(): void {
    this.#session = null;
    clearTimeout(this.#timer);
    try {
      sessionStorage.removeItem(STORAGE_KEY);
    } catch {
      // Nothing was stored.
    }
  }

  /** The server said the token is no longer valid: drop it and tell the page. */
  expire(): void {
    if (this.#session) {
      this.clear();
      this.#onExpire();
    }
  }

  #set(session: Session): void {
    this.#session = session;
    clearTimeout(this.#timer);
    const delay = Math.max(0, session.expiresAt - EXPIRY_MARGIN_MS - Date.now());
    // setTimeout's limit is about 24.8 days; tokens live minutes, but never wrap around.
    this.#timer = setTimeout(
      () => {
        this.expire();
      },
      Math.min(delay, 2 ** 31 - 1),
    );
  }
}
