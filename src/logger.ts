import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/**
 * Paths that must never reach a log line, whoever logs them: credentials, message content and
 * anything that would let a reader of the logs read or forge what the service protects.
 */
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.passphrase',
  '*.message',
  '*.access_token',
  '*.token',
  '*.jwtSecret',
  '*.encryptionKeys',
  '*.databaseUrl',
  '*.migrationDatabaseUrl',
  '*.redisUrl',
];

/** Errors are logged by type and code only: a library's message may quote the input. */
function serializeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { type: typeof err };
  const code = (err as { code?: unknown }).code;
  return {
    type: err.name,
    code: typeof code === 'string' ? code : undefined,
    stack: err.stack?.split('\n').slice(1, 8).join('\n'),
  };
}

/**
 * JSON lines shaped for Elasticsearch: `@timestamp`, a text `level`, `message`, and a stable
 * `event` field on every line that matters.
 */
export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    messageKey: 'message',
    base: { service: 'sealnote' },
    timestamp: () => `,"@timestamp":"${new Date().toISOString()}"`,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACT, censor: '[redacted]' },
    serializers: { err: serializeError, error: serializeError },
  };
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return destination === undefined
    ? pino(loggerOptions(level))
    : pino(loggerOptions(level), destination);
}
