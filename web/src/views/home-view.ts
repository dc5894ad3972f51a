/** The page at `/`: sign in, compose, share, and the user's own messages. */
import type { ApiClient } from '../api-client.js';
import { StatusLine, h, whileBusy } from '../dom.js';
import type { RuntimeConfig } from '../runtime-config.js';
import { SessionStore } from '../session-store.js';
import { createAuthView } from './auth-view.js';
import { createComposeView } from './compose-view.js';
import { createMyMessagesView } from './my-messages-view.js';
import { createShareView } from './share-view.js';

const EXPIRED_NOTICE = 'Your session has ended. Sign in again: your draft is still here.';

export function mountHomeView(root: HTMLElement, api: ApiClient, config: RuntimeConfig): void {
  const sessions = new SessionStore(() => {
    showSignedOut(EXPIRED_NOTICE);
  });

  const who = h('span', { class: 'who' });
  const logout = h(
    'button',
    { type: 'button', class: 'button-secondary', 'data-testid': 'logout' },
    'Sign out',
  );
  const accountStatus = new StatusLine();
  const accountBar = h(
    'div',
    { class: 'account-bar', hidden: true },
    who,
    logout,
    accountStatus.element,
  );

  const auth = createAuthView(api, sessions, () => {
    showSignedIn();
  });
  const compose = createComposeView({
    api,
    sessions,
    maxMessageBytes: config.maxMessageBytes,
    onCreated: (created) => {
      compose.reset();
      compose.hide();
      share.show(created);
      void messages.refresh();
    },
  });
  const share = createShareView(() => {
    share.hide();
    compose.show();
    compose.element.querySelector('textarea')?.focus();
  });
  const messages = createMyMessagesView(api, sessions);

  function showSignedIn(): void {
    const session = sessions.current;
    if (!session) {
      return;
    }
    who.textContent = `Signed in as ${session.username}`;
    accountBar.hidden = false;
    auth.hide();
    compose.show();
    messages.show();
    void messages.refresh();
  }

  function showSignedOut(notice?: string): void {
    accountBar.hidden = true;
    compose.hide();
    share.hide();
    messages.hide();
    auth.show(notice);
  }

  logout.addEventListener('click', () => {
    const session = sessions.current;
    accountStatus.info('Signing out…');
    const revoke = session ? api.logout(session.token).catch(() => undefined) : Promise.resolve();
    void whileBusy([logout], accountBar, () => revoke).finally(() => {
      // Whatever the server answered, this tab forgets the token and the draft.
      sessions.clear();
      compose.reset();
      accountStatus.clear();
      showSignedOut('You are signed out.');
    });
  });

  // The share link carries the key: do not leave it in a page the back button can restore.
  window.addEventListener('pagehide', () => {
    share.hide();
    if (sessions.current) {
      compose.show();
    }
  });

  root.replaceChildren(accountBar, auth.element, compose.element, share.element, messages.element);
  if (sessions.restore()) {
    showSignedIn();
  } else {
    showSignedOut();
  }
}
