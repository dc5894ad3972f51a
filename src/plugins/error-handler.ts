import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { AppError, problemBody, type ProblemCode } from '../errors.js';
import { BatchItemDroppedError, BatchWaitTimeoutError } from '../storage/batcher.js';
import { isConnectionError } from '../storage/database.js';

export function sendProblem(reply: FastifyReply, code: ProblemCode, detail?: string) {
  const body = problemBody(code, detail);
  return reply.code(body.status).type('application/problem+json').send(body);
}

interface ValidationIssue {
  instancePath?: string;
  message?: string;
}

/** Says where the input is wrong, never what it was: the input may be a secret. */
function describeValidation(err: FastifyError): string {
  const part = err.validationContext ?? 'request';
  const issues = (err.validation ?? []) as ValidationIssue[];
  return issues
    .slice(0, 3)
    .map((issue) => {
      const path =
        issue.instancePath === undefined || issue.instancePath === '' ? '' : issue.instancePath;
      // An unknown property fails its `additionalProperties: false` schema, which the
      // validator words as "schema is false".
      const message = issue.message === 'schema is false' ? 'is not a known field' : issue.message;
      return `${part}${path}: ${message ?? 'is not valid'}`;
    })
    .join('; ');
}

const STATUS_CODES: Partial<Record<number, ProblemCode>> = {
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

/**
 * The database is up but too slow to answer in time: a request waited too long for its
 * statement to start, the statement ran past statement_timeout (57014) or lock_timeout
 * (55P03), or the driver stopped waiting for its answer (query_timeout, which carries no
 * code). Like an unreachable database, this is a 503 to retry, not a fault of the request.
 */
function isOverloaded(err: unknown): boolean {
  if (err instanceof BatchWaitTimeoutError) return true;
  const code = (err as { code?: unknown }).code;
  if (code === '57014' || code === '55P03') return true;
  return err instanceof Error && err.message === 'Query read timeout';
}

function classify(err: FastifyError): { code: ProblemCode; detail?: string } {
  if (err instanceof AppError) return { code: err.code, detail: err.detail };
  if (err.validation !== undefined) {
    if (err.validationContext === 'params') return { code: 'malformed_id' };
    return { code: 'invalid_request', detail: describeValidation(err) };
  }
  if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError) {
    return { code: 'malformed_json' };
  }
  if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    return { code: 'malformed_json', detail: 'The body is empty' };
  }
  const byStatus = err.statusCode === undefined ? undefined : STATUS_CODES[err.statusCode];
  if (byStatus !== undefined) return { code: byStatus };
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
    return { code: 'invalid_request' };
  }
  if (isConnectionError(err) || isOverloaded(err)) return { code: 'unavailable' };
  return { code: 'internal' };
}

/**
 * Errors the router raises before any route runs (a URL that does not decode, a path segment
 * longer than any id). Fastify would answer them with its own JSON, quoting the URL.
 */
export function frameworkErrorProblem(err: FastifyError): { code: ProblemCode; detail?: string } {
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') return { code: 'malformed_id' };
  return { code: 'invalid_request', detail: 'The URL is not valid' };
}

/**
 * Every error becomes an RFC 9457 problem with a stable code. Nothing of an unexpected error
 * (message, stack, SQL, SQLSTATE) reaches the client; it is logged by type and code only.
 */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof BatchItemDroppedError) {
      // The client hung up before its statement ran; nothing was done and nobody is listening.
      request.log.info({ event: 'client_gone' }, 'Client left before its request ran');
      return sendProblem(reply, 'unavailable');
    }
    const { code, detail } = classify(err);
    if (code === 'internal') {
      request.log.error({ event: 'unhandled_error', err }, 'Request failed');
    } else if (code === 'unavailable') {
      request.log.error({ event: 'database_unavailable', err }, 'Database unavailable');
      void reply.header('retry-after', '5');
    }
    if (code === 'unauthorized') void reply.header('www-authenticate', 'Bearer');
    return sendProblem(reply, code, detail);
  });

  app.setNotFoundHandler({ preHandler: app.rateLimit() }, (_request, reply) =>
    sendProblem(reply, 'not_found'),
  );
}
