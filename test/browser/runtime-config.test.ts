/** The page's runtime configuration: no address is compiled in, and bad values are refused. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../../web/src/padding.js';
import { SAME_ORIGIN, parseRuntimeConfig } from '../../web/src/runtime-config.js';

describe('parseRuntimeConfig', () => {
  it('means the page origin and the default limit when empty', () => {
    expect(parseRuntimeConfig({})).toEqual(SAME_ORIGIN);
    expect(SAME_ORIGIN).toEqual({ apiBase: '', maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES });
  });

  it('takes an https api_base without its trailing slash, and a stated limit', () => {
    expect(
      parseRuntimeConfig({ api_base: 'https://api.example/', max_message_bytes: 1000 }),
    ).toEqual({ apiBase: 'https://api.example', maxMessageBytes: 1000 });
  });

  it('refuses clear-text or malformed API addresses and odd limits', () => {
    expect(() => parseRuntimeConfig({ api_base: 'http://api.example' })).toThrow(/https/);
    expect(() => parseRuntimeConfig({ api_base: 'javascript:alert(1)' })).toThrow();
    expect(() => parseRuntimeConfig({ api_base: 42 })).toThrow();
    expect(() => parseRuntimeConfig({ max_message_bytes: 1.5 })).toThrow();
    expect(() => parseRuntimeConfig({ max_message_bytes: 10 })).toThrow(/at least/);
    expect(() => parseRuntimeConfig([])).toThrow();
  });

  it('allows plain http only for a local development API', () => {
    expect(parseRuntimeConfig({ api_base: 'http://127.0.0.1:8000' }).apiBase).toBe(
      'http://127.0.0.1:8000',
    );
  });
});
