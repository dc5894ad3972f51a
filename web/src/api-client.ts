/**
 * The Sealnote HTTP API as typed functions. Bodies carry only the documented fields: the server
 * rejects unknown ones with 400.
 * @see /work/shared/spec/API.md is the contract; errors are RFC 9457 problem details.
 */

export interface ProblemDetails {
  readonly type?: string;
  readonly title?: string;
  readonly status?: number;
  readonly detail?: string;
  readonly code?: string;
}

/** A failed request. `status` is 0 when the server could not be reached at all. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  readonly detail: string | undefined;

  constructor(status: number, problem: ProblemDetails) {
    super(problem.title ?? `Request failed (${status})`);
    this.name = 'ApiError';
    this.status = status;
    this.code = problem.code;
    this.detail = problem.detail;
  }
}

export interface LoginResult {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
}

export interface Account {
  readonly id: string;
  readonly username: string;
}

export interface CreateMessageBody {
  message: string;
  expires_in?: number;
  max_views?: number;
  passphrase?: string;
}

export interface CreatedMessage {
  readonly id: string;
  readonly expires_at: string;
  readonly max_views: number;
}

export interface RevealedMessage {
  readonly id: string;
  readonly message: string;
  readonly created_at: string;
  readonly expires_at: string;
  readonly views_left: number;
}

export interface MessageSummary {
  readonly id: string;
  readonly created_at: string;
  readonly expires_at: string;
  readonly max_views: number;
  readonly views_left: number;
  readonly has_passphrase: boolean;
}

/** Keeps only well-typed problem fields: the body of an error response is not trusted. */
function readProblem(payload: unknown): ProblemDetails {
  if (typeof payload !== 'object' || payload === null) {
    return {};
  }
  const record = payload as Record<string, unknown>;
  const text = (name: string) => (typeof record[name] === 'string' ? record[name] : undefined);
  return { title: text('title'), detail: text('detail'), code: text('code') };
}

interface RequestOptions {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly body?: object;
  readonly token?: string | null;
}

export class ApiClient {
  readonly #base: string;

  constructor(base: string) {
    this.#base = base;
  }

  async #request<T>(path: string, options: RequestOptions): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json';
    }
    if (options.token) {
      headers.Authorization = `Bearer ${options.token}`;
    }
    let response: Response;
    try {
      response = await fetch(this.#base + path, {
        method: options.method,
        headers,
        body: options.body === undefined ? null : JSON.stringify(options.body),
        // The API authenticates with a bearer header; cookies are never needed.
        credentials: 'omit',
        cache: 'no-store',
        referrerPolicy: 'no-referrer',
      });
    } catch {
      throw new ApiError(0, { title: 'The server could not be reached. Check your connection.' });
    }
    if (response.status === 204) {
      return undefined as T;
    }
    const payload: unknown = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new ApiError(response.status, readProblem(payload));
    }
    return payload as T;
  }

  register(username: string, password: string): Promise<Account> {
    return this.#request('/auth/register', { method: 'POST', body: { username, password } });
  }

  login(username: string, password: string): Promise<LoginResult> {
    return this.#request('/auth/login', { method: 'POST', body: { username, password } });
  }

  logout(token: string): Promise<undefined> {
    return this.#request('/auth/logout', { method: 'POST', token });
  }

  me(token: string): Promise<Account> {
    return this.#request('/auth/me', { method: 'GET', token });
  }

  createMessage(token: string, body: CreateMessageBody): Promise<CreatedMessage> {
    return this.#request('/message', { method: 'POST', body, token });
  }

  revealMessage(id: string, passphrase?: string): Promise<RevealedMessage> {
    const body = passphrase === undefined ? {} : { passphrase };
    return this.#request(`/message/${encodeURIComponent(id)}/reveal`, { method: 'POST', body });
  }

  listMessages(token: string): Promise<{ items: MessageSummary[] }> {
    return this.#request('/messages', { method: 'GET', token });
  }

  deleteMessage(token: string, id: string): Promise<undefined> {
    return this.#request(`/message/${encodeURIComponent(id)}`, { method: 'DELETE', token });
  }
}
