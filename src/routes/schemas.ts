import { Type } from 'typebox';

/**
 * Request and response schemas. Objects never allow extra properties, and the validator
 * neither drops nor coerces anything: `{"$ne": null}` where a string belongs is a 400.
 */
const strict = { additionalProperties: false } as const;

/** A UUID in its canonical text form; checked before any query sees it. */
export const UUID_PATTERN =
  '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

export const IdParams = Type.Object({ id: Type.String({ pattern: UUID_PATTERN }) }, strict);

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    code: Type.String(),
  },
  { $id: 'Problem', description: 'An RFC 9457 problem document' },
);
const ProblemRef = Type.Ref('Problem');

/** Response schemas for the listed error statuses, all problem documents. */
export function problems(...statuses: number[]) {
  return Object.fromEntries(statuses.map((status) => [status, ProblemRef]));
}

export const Username = Type.String({
  minLength: 3,
  maxLength: 32,
  pattern: '^[A-Za-z0-9._-]+$',
  description: '3-32 characters of A-Z a-z 0-9 . _ -; unique regardless of case',
});

export const Credentials = Type.Object(
  {
    username: Username,
    // The exact rule (12-256 characters after NFC) is checked in code points by the service.
    password: Type.String({
      minLength: 1,
      maxLength: 1024,
      description: 'Registration needs 12 to 256 characters (after NFC normalisation)',
    }),
  },
  strict,
);

export const AccountBody = Type.Object(
  { id: Type.String({ format: 'uuid' }), username: Type.String() },
  strict,
);

export const TokenBody = Type.Object(
  {
    access_token: Type.String(),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer({ description: 'seconds' }),
  },
  strict,
);

export const Timestamp = Type.String({ format: 'date-time' });

export const NewMessageBody = Type.Object(
  {
    message: Type.String({ minLength: 1, description: '1 to MAX_MESSAGE_BYTES bytes of UTF-8' }),
    expires_in: Type.Optional(
      Type.Integer({ minimum: 60, maximum: 2_592_000, default: 86_400, description: 'seconds' }),
    ),
    max_views: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 1 })),
    passphrase: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  },
  strict,
);

export const CreatedMessageBody = Type.Object(
  { id: Type.String({ format: 'uuid' }), expires_at: Timestamp, max_views: Type.Integer() },
  strict,
);

export const RevealBody = Type.Object(
  { passphrase: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })) },
  strict,
);

export const MessageBody = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    message: Type.String(),
    created_at: Timestamp,
    expires_at: Timestamp,
    views_left: Type.Integer(),
  },
  strict,
);

export const MessageListBody = Type.Object(
  {
    items: Type.Array(
      Type.Object(
        {
          id: Type.String({ format: 'uuid' }),
          created_at: Timestamp,
          expires_at: Timestamp,
          max_views: Type.Integer(),
          views_left: Type.Integer(),
          has_passphrase: Type.Boolean(),
        },
        strict,
      ),
    ),
  },
  strict,
);

/** Routes that take no body accept none, or an empty object, and nothing more. */
export const EmptyBody = Type.Object({}, strict);

/** A missing body is validated as `{}`. */
export async function bodyDefaultsToEmpty(request: { body: unknown }): Promise<void> {
  request.body ??= {};
}

export const StatusBody = Type.Object({ status: Type.String() }, strict);
