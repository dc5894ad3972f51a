/**
 * Runtime configuration. The page never has an API address compiled in: it talks to its own
 * origin unless the operator serves `/config.json`, e.g. `{"api_base": "https://api.example"}`.
 * A 404 (the default) means same origin. When the API lives elsewhere, the operator must also
 * add that origin to the CSP `connect-src` and to the API's `CORS_ORIGINS`.
 */
import { DEFAULT_MAX_MESSAGE_BYTES } from './padding.js';

const MIN_MAX_MESSAGE_BYTES = 64;

export interface RuntimeConfig {
  /** Base URL of the API without a trailing slash; '' is the page's own origin. */
  readonly apiBase: string;
  /** The server's `MAX_MESSAGE_BYTES`, if the operator states it; else the documented default. */
  readonly maxMessageBytes: number;
}

export const SAME_ORIGIN: RuntimeConfig = {
  apiBase: '',
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseRuntimeConfig(value: unknown): RuntimeConfig {
  if (!isRecord(value)) {
    throw new Error('config.json must hold an object');
  }
  let apiBase = '';
  if (value.api_base !== undefined) {
    if (typeof value.api_base !== 'string') {
      throw new Error('api_base must be a string');
    }
    const url = new URL(value.api_base);
    // Tokens and ciphertext must never travel in clear text, except to a local development API.
    const local = url.hostname === 'localhost' || url.hostname === '127.0.0.1';
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) {
      throw new Error('api_base must be an https URL');
    }
    apiBase = url.href.replace(/\/+$/, '');
  }
  let maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES;
  if (value.max_message_bytes !== undefined) {
    const stated = value.max_message_bytes;
    // Below this not even a one-byte message fits once it is encrypted and encoded.
    if (typeof stated !== 'number' || !Number.isInteger(stated) || stated < MIN_MAX_MESSAGE_BYTES) {
      throw new Error(
        `max_message_bytes must be a whole number of at least ${MIN_MAX_MESSAGE_BYTES}`,
      );
    }
    maxMessageBytes = stated;
  }
  return { apiBase, maxMessageBytes };
}

export async function loadRuntimeConfig(): Promise<RuntimeConfig> {
  const response = await fetch('/config.json', {
    credentials: 'omit',
    headers: { Accept: 'application/json' },
  });
  if (response.status === 404) {
    return SAME_ORIGIN;
  }
  if (!response.ok) {
    throw new Error(`config.json answered ${response.status}`);
  }
  return parseRuntimeConfig(await response.json());
}
