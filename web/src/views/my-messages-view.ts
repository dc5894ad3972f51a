/** The signed-in user's live messages: views left, expiry, and revoke. Never any content. */
import type { ApiClient, MessageSummary } from '../api-client.js';
import { ApiError } from '../api-client.js';
import { StatusLine, formatDateTime, h, whileBusy } from '../dom.js';
import { describeError } from '../problem-text.js';
import type { SessionStore } from '../session-store.js';

export interface MyMessagesView {
  readonly element: HTMLElement;
  refresh(): Promise<void>;
  show(): void;
  hide(): void;
}

export function createMyMessagesView(api: ApiClient, sessions: SessionStore): MyMessagesView {
  const list = h('ul', { class: 'message-list', 'data-testid': 'my-messages' });
  const status = new StatusLine();
  const refreshButton = h('button', { type: 'button', class: 'button-secondary' }, 'Refresh');
  const heading = h('h2', { id: 'my-messages-heading' }, 'Your live messages');
  const element = h(
    'section',
    { class: 'card', 'aria-labelledby': heading.id },
    h('div', { class: 'card-title' }, heading, refreshButton),
    status.element,
    list,
  );

  function onUnauthorized(error: unknown): boolean {
    if (error instanceof ApiError && error.status === 401) {
      sessions.expire();
      return true;
    }
    return false;
  }

  function row(item: MessageSummary): HTMLLIElement {
    const shortId = item.id.slice(0, 8);
    const revoke = h(
      'button',
      {
        type: 'button',
        class: 'button-danger',
        'data-testid': 'revoke',
        'aria-label': `Revoke message ${shortId}`,
      },
      'Revoke',
    );
    const views = `${item.views_left} of ${item.max_views} ${item.max_views === 1 ? 'view' : 'views'} left`;
    const li = h(
      'li',
      { class: 'message-row', 'data-id': item.id },
      h(
        'div',
        { class: 'message-meta' },
        h('span', { class: 'message-id' }, shortId),
        h('span', {}, views),
        h('span', {}, `Expires ${formatDateTime(item.expires_at)}`),
        item.has_passphrase && h('span', { class: 'badge' }, 'Passphrase'),
      ),
      revoke,
    );
    revoke.addEventListener('click', () => {
      const session = sessions.current;
      if (!session) {
        sessions.expire();
        return;
      }
      status.info(`Revoking ${shortId}…`);
      whileBusy([revoke], li, () => api.deleteMessage(session.token, item.id)).then(
        () => {
          li.remove();
          status.success(`Message ${shortId} revoked. Its link no longer works.`);
          showEmpty();
        },
        (error: unknown) => {
          if (error instanceof ApiError && error.status === 404) {
            li.remove();
            status.info(`Message ${shortId} was already gone.`);
            showEmpty();
          } else if (!onUnauthorized(error)) {
            status.error(describeError(error, 'Could not revoke the message.'));
          }
        },
      );
    });
    return li;
  }

  function showEmpty(): void {
    if (list.children.length === 0) {
      list.append(h('li', { class: 'empty' }, 'No live messages.'));
    }
  }

  async function refresh(): Promise<void> {
    const session = sessions.current;
    if (!session) {
      return;
    }
    status.info('Loading your messages…');
    try {
      const { items } = await whileBusy([refreshButton], element, () =>
        api.listMessages(session.token),
      );
      list.replaceChildren(...items.map(row));
      showEmpty();
      status.clear();
    } catch (error) {
      if (!onUnauthorized(error)) {
        status.error(describeError(error, 'Could not load your messages.'));
      }
    }
  }

  refreshButton.addEventListener('click', () => {
    void refresh();
  });

  return {
    element,
    refresh,
    show() {
      element.hidden = false;
    },
    hide() {
      element.hidden = true;
      list.replaceChildren();
      status.clear();
    },
  };
}
