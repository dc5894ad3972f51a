import type { FastifyInstance } from 'fastify';
import type { MessageService } from './message-service.js';

/**
 * Deletes expired and spent rows now and then. Reads never depend on it: an expired message
 * is already invisible at its expiry time.
 */
export function startPurge(app: FastifyInstance, messages: MessageService, seconds: number) {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    messages
      .purge()
      .then((deleted) => {
        if (deleted > 0) app.log.info({ event: 'messages_purged', deleted }, 'Purged messages');
      })
      .catch(() => {
        app.log.warn({ event: 'purge_failed' }, 'Purge failed; will retry');
      })
      .finally(() => {
        running = false;
      });
  }, seconds * 1000);
  timer.unref();
  app.addHook('onClose', async () => {
    clearInterval(timer);
  });
}
