/**
 * Copying secrets. A copied secret would otherwise sit in the clipboard indefinitely, so every
 * copy offers to clear it after 60 seconds (on by default, the user can untick it).
 */
import { h, uid } from './dom.js';

export const CLEAR_AFTER_MS = 60_000;

let pendingClear: ReturnType<typeof setTimeout> | undefined;

async function writeClipboard(text: string): Promise<void> {
  await navigator.clipboard.writeText(text);
}

/** A copy button with its "clear after 60 s" offer and a status line. */
export function copyControl(label: string, getText: () => string): HTMLDivElement {
  const button = h('button', { type: 'button', class: 'button-secondary', 'data-copy': '' }, label);
  const checkbox = h('input', { type: 'checkbox', id: uid('clear'), checked: true });
  const offer = h(
    'label',
    { class: 'inline-check', for: checkbox.id },
    checkbox,
    ' Clear the clipboard 60 seconds after copying',
  );
  const status = h('span', { class: 'copy-status', role: 'status', 'aria-live': 'polite' });

  button.addEventListener('click', () => {
    const text = getText();
    writeClipboard(text).then(
      () => {
        clearTimeout(pendingClear);
        if (checkbox.checked) {
          status.textContent = 'Copied. The clipboard will be cleared in 60 seconds.';
          pendingClear = setTimeout(() => {
            // Needs the page to have focus; if it has not, the browser refuses and we say so.
            writeClipboard('').then(
              () => {
                status.textContent = 'Clipboard cleared.';
              },
              () => {
                status.textContent = 'Could not clear the clipboard; clear it yourself.';
              },
            );
          }, CLEAR_AFTER_MS);
        } else {
          status.textContent = 'Copied.';
        }
      },
      () => {
        status.textContent = 'Copying was refused by the browser: select the text and copy it.';
      },
    );
  });
  return h('div', { class: 'copy-control' }, button, offer, status);
}
