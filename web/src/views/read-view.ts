/**
 * The page at `/m/{id}`. Nothing about the message is fetched until `reveal` is clicked, so link
 * previews and prefetching bots cannot use up a view.
 */
import type { ApiClient, RevealedMessage } from '../api-client.js';
import { ApiError } from '../api-client.js';
import { copyControl } from '../clipboard.js';
import { StatusLine, field, formatDateTime, h, whileBusy } from '../dom.js';
import type { LinkKey } from '../e2e-crypto.js';
import {
  DecryptError,
  decryptText,
  deriveSecrets,
  isEnvelope,
  parseFragment,
} from '../e2e-crypto.js';
import { describeError } from '../problem-text.js';
import { PASSPHRASE_MAX } from '../validation.js';
import { createMessageDisplay } from './message-display.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function mountReadView(
  root: HTMLElement,
  api: ApiClient,
  id: string,
  fragment: string,
): void {
  const heading = h('h2', { id: 'read-heading', tabindex: '-1' }, 'A secret is waiting for you');
  const intro = h(
    'div',
    { class: 'intro' },
    h('p', {}, 'Someone shared a secret message with you. Nothing has been opened yet.'),
    h(
      'p',
      { class: 'notice' },
      'Revealing it may destroy it: a message can be read only a limited number of times, and ' +
        'then it is deleted for good. Reveal it when you are ready to read it.',
    ),
  );
  const passphrase = h('input', {
    type: 'password',
    name: 'passphrase',
    autocomplete: 'off',
    maxlength: String(PASSPHRASE_MAX),
    'data-testid': 'passphrase-input',
  });
  const passphraseField = field('Passphrase', passphrase, 'The sender gave it to you separately.');
  const reveal = h('button', { type: 'submit', 'data-testid': 'reveal' }, 'Reveal the secret');
  const status = new StatusLine();
  const form = h(
    'form',
    { class: 'reveal-form', novalidate: true },
    passphraseField,
    h('div', { class: 'actions' }, reveal),
    status.element,
  );
  const card = h('section', { class: 'card', 'aria-labelledby': heading.id }, heading, intro, form);
  root.replaceChildren(card);

  let linkKey: LinkKey | null = null;
  try {
    linkKey = parseFragment(fragment);
  } catch (error) {
    showProblem(error instanceof Error ? error.message : 'This link is damaged.');
    return;
  }
  if (!UUID.test(id)) {
    showProblem('This link is not complete: check that you copied all of it.');
    return;
  }
  passphraseField.hidden = !linkKey?.passphrase;

  function showProblem(text: string): void {
    // Without a usable link, revealing would only burn a view that nobody could read.
    form.hidden = true;
    intro.replaceChildren(h('p', { class: 'status status-error', role: 'alert' }, text));
  }

  function showGone(): void {
    heading.textContent = 'This secret is gone';
    card.replaceChildren(
      heading,
      h(
        'div',
        { class: 'gone', 'data-testid': 'message-gone' },
        h('p', {}, 'This message no longer exists. It was already read, revoked, or it expired.'),
        h(
          'p',
          {},
          'Nothing was revealed on this page. If you still need it, ask the sender for a new link.',
        ),
      ),
    );
    forgetLink();
    heading.focus();
  }

  function forgetLink(): void {
    // The key in the fragment should not stay in the address bar or the session history.
    history.replaceState(null, '', location.pathname);
  }

  function showMessage(text: string, revealed: RevealedMessage, keyless: boolean): void {
    const display = createMessageDisplay(text);
    const left =
      revealed.views_left === 0
        ? 'That was its last view: it is now deleted from the server.'
        : `It can be opened ${revealed.views_left} more ${revealed.views_left === 1 ? 'time' : 'times'}, until ${formatDateTime(revealed.expires_at)}.`;
    heading.textContent = 'The secret';
    card.replaceChildren(
      heading,
      display.element,
      copyControl('Copy secret', () => display.text()),
      h('p', { class: 'hint' }, left),
      keyless && isEnvelope(text)
        ? h('p', { class: 'notice' }, 'This message looks encrypted, but the link has no key.')
        : '',
    );
    forgetLink();
    heading.focus();
    // Not in bfcache, not in a restored tab: the text goes away with the page.
    window.addEventListener(
      'pagehide',
      () => {
        display.clear();
        card.replaceChildren(heading, h('p', {}, 'The secret was hidden when you left this page.'));
      },
      { once: true },
    );
  }

  async function revealOnce(): Promise<void> {
    const entered = passphraseField.hidden ? undefined : passphrase.value;
    if (entered === '') {
      status.error('Enter the passphrase first.');
      passphrase.focus();
      return;
    }
    // A passphrase asked for by the server counts even if the link's flag was lost.
    const key = linkKey && { ...linkKey, passphrase: entered !== undefined };
    const secrets = key === null ? null : await deriveSecrets(key, entered);
    status.info('Opening…');
    const revealed = await api.revealMessage(id, secrets === null ? entered : secrets.verifier);
    passphrase.value = '';
    const text = secrets === null ? revealed.message : await decryptText(revealed.message, secrets);
    status.clear();
    showMessage(text, revealed, key === null);
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    status.info(passphraseField.hidden ? 'Opening…' : 'Checking the passphrase…');
    whileBusy([reveal], form, revealOnce).catch((error: unknown) => {
      if (error instanceof ApiError && error.status === 404) {
        showGone();
      } else if (error instanceof ApiError && error.code === 'wrong_passphrase') {
        status.error('That passphrase is not right. Nothing was used up; check it and try again.');
        passphrase.select();
      } else if (error instanceof ApiError && error.status === 401) {
        passphraseField.hidden = false;
        status.error('This message is protected by a passphrase. Enter it and reveal again.');
        passphrase.focus();
      } else if (error instanceof DecryptError) {
        status.error('The message arrived but could not be decrypted: the link may be incomplete.');
      } else {
        status.error(describeError(error, 'Could not open the message.'));
      }
    });
  });
}
