/**
 * One registry of the errors clients can see. Each has a stable machine `code`, an HTTP status
 * and a title; the error handler turns them into RFC 9457 problem documents.
 * @see https://www.rfc-editor.org/rfc/rfc9457
 */
export const problems = {
  invalid_request: { status: 400, title: 'The request is not valid' },
  malformed_json: { status: 400, title: 'The request body is not valid JSON' },
  malformed_id: { status: 400, title: 'The id is not a valid UUID' },
  invalid_password: { status: 400, title: 'The password does not meet the rules' },
  unauthorized: { status: 401, title: 'A valid Bearer token is required' },
  invalid_credentials: { status: 401, title: 'Wrong username or password' },
  passphrase_required: { status: 401, title: 'This message needs its passphrase' },
  wrong_passphrase: { status: 401, title: 'Wrong passphrase' },
  not_found: { status: 404, title: 'Not found' },
  message_not_found: { status: 404, title: 'This message does not exist, has expired or was read' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  username_taken: { status: 409, title: 'This username is taken' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  message_too_large: { status: 413, title: 'The message is too large' },
  unsupported_media_type: { status: 415, title: 'The request body must be application/json' },
  rate_limited: { status: 429, title: 'Too many requests' },
  internal: { status: 500, title: 'Internal error' },
  unavailable: { status: 503, title: 'The service is temporarily unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof problems;

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: ProblemCode;
}

export class AppError extends Error {
  readonly code: ProblemCode;
  readonly statusCode: number;
  readonly detail: string | undefined;

  constructor(code: ProblemCode, detail?: string) {
    super(problems[code].title);
    this.name = 'AppError';
    this.code = code;
    this.statusCode = problems[code].status;
    this.detail = detail;
  }
}

export function problemBody(code: ProblemCode, detail?: string): ProblemBody {
  const { status, title } = problems[code];
  const body: ProblemBody = { type: `urn:sealnote:problem:${code}`, title, status, code };
  if (detail !== undefined) body.detail = detail;
  return body;
}
