/**
 * Shows revealed content. By default it is text only (textContent in a <pre>); an optional
 * Markdown view renders HTML, and that HTML goes through the DOMPurify policy straight into its
 * container, never into another template afterwards.
 */
import { h } from '../dom.js';
import { renderMarkdown } from '../markdown-lite.js';
import { setSanitizedHtml } from '../trusted-html.js';

export interface MessageDisplay {
  readonly element: HTMLElement;
  text(): string;
  clear(): void;
}

export function createMessageDisplay(content: string): MessageDisplay {
  let text = content;
  const plain = h('pre', {
    class: 'message-text',
    dir: 'auto',
    tabindex: '0',
    'data-testid': 'message',
  });
  plain.textContent = text;
  const formatted = h('div', {
    class: 'message-formatted',
    dir: 'auto',
    hidden: true,
    'data-testid': 'message-formatted',
  });
  const toggle = h('input', { type: 'checkbox', id: 'show-formatted' });
  const toggleLabel = h(
    'label',
    { class: 'inline-check', for: toggle.id },
    toggle,
    ' Show formatted (Markdown)',
  );
  toggle.addEventListener('change', () => {
    if (toggle.checked) {
      setSanitizedHtml(formatted, renderMarkdown(text));
    } else {
      formatted.replaceChildren();
    }
    formatted.hidden = !toggle.checked;
    plain.hidden = toggle.checked;
  });

  const element = h(
    'div',
    { class: 'message-area', 'data-testid': 'message-area', 'aria-label': 'Secret message' },
    plain,
    formatted,
    toggleLabel,
  );
  return {
    element,
    text: () => text,
    clear() {
      text = '';
      plain.textContent = '';
      formatted.replaceChildren();
    },
  };
}
