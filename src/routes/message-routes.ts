import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import type { RevealedMessage, RevealOutcome } from '../messages/message-service.js';
import { requireAuth } from '../plugins/auth-guard.js';
import { accountCreateLimiter } from '../plugins/rate-limits.js';
import type { RouteOptions } from './auth-routes.js';
import {
  CreatedMessageBody,
  IdParams,
  MessageBody,
  MessageListBody,
  NewMessageBody,
  RevealBody,
  EmptyBody,
  bodyDefaultsToEmpty,
  problems,
} from './schemas.js';

const DEFAULT_EXPIRES_IN = 86_400;
const DEFAULT_MAX_VIEWS = 1;

/** JSON can spell one byte of text as six (`\u0000`): the body limit leaves room for that. */
export function messageBodyLimit(maxMessageBytes: number): number {
  return maxMessageBytes * 6 + 4096;
}

/** Whether the client has hung up: its statement, still queued, is then not run. */
function clientGone(request: FastifyRequest): () => boolean {
  return () => request.raw.socket.destroyed;
}

function present(message: RevealedMessage) {
  return {
    id: message.id,
    message: message.message,
    created_at: message.created_at.toISOString(),
    expires_at: message.expires_at.toISOString(),
    views_left: message.views_left,
  };
}

function answer(outcome: RevealOutcome, reply: FastifyReply) {
  switch (outcome.kind) {
    case 'revealed':
      return reply.send(present(outcome.message));
    case 'gone':
      throw new AppError('message_not_found');
    case 'passphrase_required':
      throw new AppError('passphrase_required');
    case 'wrong_passphrase':
      throw new AppError('wrong_passphrase');
    case 'busy':
      void reply.header('retry-after', '1');
      throw new AppError('rate_limited', 'Other passphrase checks are under way; try again');
  }
}

const messageRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (
  app,
  { config, services },
) => {
  const { messages } = services;
  const guard = requireAuth(services);
  const accountLimit = accountCreateLimiter(app, config);
  const readFailures = problems(400, 401, 404, 429);

  app.post(
    '/message',
    {
      preParsing: guard,
      bodyLimit: messageBodyLimit(config.maxMessageBytes),
      schema: {
        tags: ['messages'],
        summary: 'Store a secret message and get its id',
        security: [{ bearer: [] }],
        body: NewMessageBody,
        response: { 201: CreatedMessageBody, ...problems(400, 401, 413, 415, 429) },
      },
    },
    async (request, reply) => {
      const { message, passphrase } = request.body;
      // A lone surrogate cannot be stored "exactly": UTF-8 has no encoding for it.
      if (!message.isWellFormed() || (passphrase !== undefined && !passphrase.isWellFormed())) {
        throw new AppError('invalid_request', 'Text must be well-formed Unicode');
      }
      if (Buffer.byteLength(message, 'utf8') > config.maxMessageBytes) {
        throw new AppError('message_too_large', `At most ${config.maxMessageBytes} bytes of UTF-8`);
      }
      const auth = request.auth;
      if (auth === undefined) throw new AppError('unauthorized');

      const retryAfter = await accountLimit(request);
      if (retryAfter > 0) {
        void reply.header('retry-after', String(retryAfter));
        throw new AppError('rate_limited', 'Too many messages from this account');
      }

      const created = await messages.create(
        {
          ownerId: auth.sub,
          message,
          expiresIn: request.body.expires_in ?? DEFAULT_EXPIRES_IN,
          maxViews: request.body.max_views ?? DEFAULT_MAX_VIEWS,
          passphrase,
        },
        clientGone(request),
      );
      return reply.code(201).header('location', `/message/${created.id}`).send({
        id: created.id,
        expires_at: created.expires_at.toISOString(),
        max_views: created.max_views,
      });
    },
  );

  app.get(
    '/message/:id',
    {
      // Link previewers send HEAD; Fastify would answer it with this handler and burn a view.
      exposeHeadRoute: false,
      schema: {
        tags: ['messages'],
        summary: 'Read a message; consumes one view',
        params: IdParams,
        response: { 200: MessageBody, ...readFailures },
      },
    },
    async (request, reply) => {
      const outcome = await messages.reveal(
        request.params.id.toLowerCase(),
        undefined,
        clientGone(request),
      );
      return answer(outcome, reply);
    },
  );

  app.head(
    '/message/:id',
    {
      schema: {
        tags: ['messages'],
        summary: 'Whether a message exists; never consumes a view',
        params: IdParams,
      },
    },
    async (request, reply) => {
      const live = await messages.exists(request.params.id.toLowerCase());
      return reply.code(live ? 200 : 404).send();
    },
  );

  app.post(
    '/message/:id/reveal',
    {
      bodyLimit: 16_384,
      // An empty POST is a reveal without passphrase.
      preValidation: bodyDefaultsToEmpty,
      schema: {
        tags: ['messages'],
        summary: 'Read a message, giving its passphrase if it has one; consumes one view',
        params: IdParams,
        body: RevealBody,
        response: { 200: MessageBody, ...readFailures, ...problems(413, 415) },
      },
    },
    async (request, reply) => {
      const { passphrase } = request.body;
      if (passphrase !== undefined && !passphrase.isWellFormed()) {
        throw new AppError('invalid_request', 'Text must be well-formed Unicode');
      }

      const outcome = await messages.reveal(
        request.params.id.toLowerCase(),
        passphrase,
        clientGone(request),
      );
      return answer(outcome, reply);
    },
  );

  app.get(
    '/messages',
    {
      preParsing: guard,
      schema: {
        tags: ['messages'],
        summary: "The caller's live messages, without their content",
        security: [{ bearer: [] }],
        response: { 200: MessageListBody, ...problems(401, 429) },
      },
    },
    async (request) => {
      const auth = request.auth;
      if (auth === undefined) throw new AppError('unauthorized');

      const items = await messages.listOwned(auth.sub);
      return {
        items: items.map((item) => ({
          ...item,
          created_at: item.created_at.toISOString(),
          expires_at: item.expires_at.toISOString(),
        })),
      };
    },
  );

  app.delete(
    '/message/:id',
    {
      preParsing: guard,
      preValidation: bodyDefaultsToEmpty,
      schema: {
        tags: ['messages'],
        summary: 'Delete one of your own messages',
        security: [{ bearer: [] }],
        params: IdParams,
        body: EmptyBody,
        response: { 204: Type.Null(), ...problems(400, 401, 404, 429) },
      },
    },
    async (request, reply) => {
      const auth = request.auth;
      if (auth === undefined) throw new AppError('unauthorized');

      // Someone else's message gets the same 404 as a missing one: no hint that it exists.
      if (!(await messages.remove(request.params.id.toLowerCase(), auth.sub))) {
        throw new AppError('message_not_found');
      }
      request.log.info({ event: 'message_deleted_by_owner' }, 'Message deleted');
      return reply.code(204).send(null);
    },
  );
};

export default messageRoutes;
