/** Turns API failures into sentences a person can act on. */
import { ApiError } from './api-client.js';

/** Sentences for the API's machine-readable `code` values. */
const CODE_TEXT: Partial<Record<string, string>> = {
  username_taken: 'That username is taken. Choose another one.',
  invalid_credentials: 'Wrong username or password.',
  message_too_large: 'This message is too large for this server. Shorten it and try again.',
  rate_limited: 'Too many requests. Wait a minute, then try again.',
};

export function describeError(error: unknown, fallback: string): string {
  if (!(error instanceof ApiError)) {
    return fallback;
  }
  const known = error.code === undefined ? undefined : CODE_TEXT[error.code];
  if (known) {
    return known;
  }
  if (error.status === 0) {
    return error.message;
  }
  if (error.status === 429) {
    return 'Too many requests. Wait a minute, then try again.';
  }
  if (error.status === 413) {
    return 'This message is too large for this server. Shorten it and try again.';
  }
  if (error.status >= 500) {
    return 'The server had a problem. Try again in a moment.';
  }
  const detail = error.detail ?? error.message;
  return `${fallback} ${detail}`.trim();
}
