/** Writing a secret: it is encrypted here, and only the ciphertext is sent. */
import type { ApiClient, CreatedMessage } from '../api-client.js';
import { ApiError } from '../api-client.js';
import { StatusLine, field, h, utf8Length, whileBusy } from '../dom.js';
import { sealMessage } from '../e2e-crypto.js';
import { maxPlaintextBytes } from '../padding.js';
import { describeError } from '../problem-text.js';
import type { SessionStore } from '../session-store.js';
import { PASSPHRASE_MAX, characterCount } from '../validation.js';

export const EXPIRY_CHOICES = [
  { seconds: 300, label: '5 minutes' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 86400, label: '1 day' },
  { seconds: 604800, label: '7 days' },
  { seconds: 2592000, label: '30 days' },
] as const;
const DEFAULT_EXPIRY = 86400;
export const VIEW_CHOICES = [1, 2, 3, 5, 10, 25, 50, 100] as const;

export interface Created extends CreatedMessage {
  /** The link fragment holding the key, without '#'. */
  readonly fragment: string;
  readonly hasPassphrase: boolean;
}

export interface ComposeView {
  readonly element: HTMLElement;
  show(): void;
  hide(): void;
  /** Forgets the draft: on sign-out, so the next person at this screen cannot read it. */
  reset(): void;
}

export function createComposeView(options: {
  api: ApiClient;
  sessions: SessionStore;
  maxMessageBytes: number;
  onCreated: (created: Created) => void;
}): ComposeView {
  const { api, sessions, onCreated } = options;
  const limit = maxPlaintextBytes(options.maxMessageBytes);

  const message = h('textarea', {
    name: 'message',
    rows: '8',
    required: true,
    spellcheck: 'false',
    autocomplete: 'off',
    dir: 'auto',
    'data-testid': 'compose-message',
  });
  const counter = h('p', { class: 'hint counter', 'aria-live': 'polite' });
  const expires = h('select', { name: 'expires_in', 'data-testid': 'compose-expires' });
  for (const choice of EXPIRY_CHOICES) {
    const option = h('option', { value: String(choice.seconds) }, choice.label);
    option.selected = choice.seconds === DEFAULT_EXPIRY;
    expires.append(option);
  }
  const views = h('select', { name: 'max_views', 'data-testid': 'compose-max-views' });
  for (const count of VIEW_CHOICES) {
    views.append(h('option', { value: String(count) }, count === 1 ? '1 view' : `${count} views`));
  }
  const passphrase = h('input', {
    type: 'password',
    name: 'passphrase',
    autocomplete: 'new-password',
    maxlength: String(PASSPHRASE_MAX),
    'data-testid': 'compose-passphrase',
  });
  const submit = h(
    'button',
    { type: 'submit', 'data-testid': 'compose-submit' },
    'Encrypt and create link',
  );
  const status = new StatusLine();
  const heading = h('h2', { id: 'compose-heading' }, 'Write a secret');

  const updateCounter = (): number => {
    const used = utf8Length(message.value);
    counter.textContent = `${used.toLocaleString()} of ${limit.toLocaleString()} bytes`;
    counter.classList.toggle('counter-over', used > limit);
    return used;
  };
  updateCounter();
  message.addEventListener('input', updateCounter);

  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': heading.id, novalidate: true },
    heading,
    field('Secret message', message, 'Encrypted in this browser before it is sent.'),
    counter,
    h('div', { class: 'row' }, field('Expires after', expires), field('Can be read', views)),
    field(
      'Passphrase (optional)',
      passphrase,
      'Send it to the reader another way. It is never sent to the server.',
    ),
    h('div', { class: 'actions' }, submit),
    status.element,
  );

  async function create(text: string, secretPhrase: string | undefined): Promise<void> {
    const session = sessions.current;
    if (!session) {
      sessions.expire();
      return;
    }
    const sealed = await sealMessage(text, {
      passphrase: secretPhrase,
      maxMessageBytes: options.maxMessageBytes,
    });
    status.info('Sending the encrypted message…');
    const created = await api.createMessage(session.token, {
      message: sealed.envelope,
      expires_in: Number(expires.value),
      max_views: Number(views.value),
      ...(sealed.verifier === undefined ? {} : { passphrase: sealed.verifier }),
    });
    status.clear();
    onCreated({ ...created, fragment: sealed.fragment, hasPassphrase: secretPhrase !== undefined });
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = message.value;
    if (text.length === 0) {
      status.error('Write the message first.');
      message.focus();
      return;
    }
    if (updateCounter() > limit) {
      status.error(`The message is too long: at most ${limit.toLocaleString()} bytes.`);
      message.focus();
      return;
    }
    if (characterCount(passphrase.value) > PASSPHRASE_MAX) {
      status.error(`A passphrase can have at most ${PASSPHRASE_MAX} characters.`);
      passphrase.focus();
      return;
    }
    const secretPhrase = passphrase.value === '' ? undefined : passphrase.value;
    status.info(secretPhrase ? 'Encrypting (the passphrase takes a moment)…' : 'Encrypting…');
    whileBusy([submit], form, () => create(text, secretPhrase)).catch((error: unknown) => {
      if (error instanceof ApiError && error.status === 401) {
        // The draft stays in the form; the page asks for a new sign-in.
        status.clear();
        sessions.expire();
        return;
      }
      status.error(describeError(error, 'Could not create the message.'));
    });
  });

  return {
    element: form,
    show() {
      form.hidden = false;
    },
    hide() {
      form.hidden = true;
    },
    reset() {
      message.value = '';
      passphrase.value = '';
      expires.value = String(DEFAULT_EXPIRY);
      views.value = '1';
      updateCounter();
      status.clear();
    },
  };
}
