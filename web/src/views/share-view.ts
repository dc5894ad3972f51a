/** The link to a new secret, with its key in the fragment. */
import { copyControl } from '../clipboard.js';
import { field, formatDateTime, h } from '../dom.js';
import type { Created } from './compose-view.js';

export interface ShareView {
  readonly element: HTMLElement;
  show(created: Created): void;
  /** Hides the view and forgets the link (it carries the key). */
  hide(): void;
}

export function shareLink(origin: string, created: Pick<Created, 'id' | 'fragment'>): string {
  return `${origin}/m/${encodeURIComponent(created.id)}#${created.fragment}`;
}

export function createShareView(onAnother: () => void): ShareView {
  const link = h('input', {
    type: 'text',
    readonly: true,
    spellcheck: 'false',
    autocomplete: 'off',
    'data-testid': 'share-link',
  });
  link.addEventListener('focus', () => {
    link.select();
  });
  const summary = h('p', {});
  const passphraseNote = h(
    'p',
    { class: 'notice', hidden: true },
    'Send the passphrase separately, for example by phone. The link alone cannot open it.',
  );
  const another = h(
    'button',
    { type: 'button', class: 'button-secondary' },
    'Write another secret',
  );
  another.addEventListener('click', onAnother);
  const heading = h('h2', { id: 'share-heading', tabindex: '-1' }, 'Your link is ready');
  const element = h(
    'section',
    { class: 'card', 'aria-labelledby': heading.id, hidden: true },
    heading,
    field('Share link', link, 'The key is the part after #: it never reaches the server.'),
    copyControl('Copy link', () => link.value),
    summary,
    passphraseNote,
    h('div', { class: 'actions' }, another),
  );

  return {
    element,
    show(created) {
      link.value = shareLink(location.origin, created);
      const times = created.max_views === 1 ? 'once' : `${created.max_views} times`;
      summary.textContent =
        `It can be read ${times}, until ${formatDateTime(created.expires_at)}. ` +
        'After that it is deleted for good.';
      passphraseNote.hidden = !created.hasPassphrase;
      element.hidden = false;
      heading.focus();
    },
    hide() {
      element.hidden = true;
      link.value = '';
    },
  };
}
