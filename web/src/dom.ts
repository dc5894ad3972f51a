/**
 * Small DOM builder. Content always enters as text nodes; attributes are set by name, and an
 * `on*` name is refused so that no event handler can ever come from data.
 */

type Child = Node | string | null | undefined | false;
type Attributes = Record<string, string | boolean | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (/^on/i.test(name) || name.toLowerCase() === 'style') {
      throw new Error(`attribute ${name} is not allowed`);
    }
    if (value === true) {
      element.setAttribute(name, '');
    } else if (typeof value === 'string') {
      element.setAttribute(name, value);
    }
  }
  element.append(...children.filter((child): child is Node | string => Boolean(child)));
  return element;
}

let idCounter = 0;

/** A unique id for label/aria wiring. */
export function uid(prefix: string): string {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** A labelled form field: the label, the control and an optional hint, wired for screen readers. */
export function field(
  labelText: string,
  control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement,
  hintText?: string,
): HTMLDivElement {
  control.id ||= uid('field');
  const label = h('label', { for: control.id }, labelText);
  const wrapper = h('div', { class: 'field' }, label, control);
  if (hintText) {
    const hint = h('p', { class: 'hint', id: uid('hint') }, hintText);
    control.setAttribute('aria-describedby', hint.id);
    wrapper.append(hint);
  }
  return wrapper;
}

/** A polite live region that announces status and errors of a request. */
export class StatusLine {
  readonly element = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });

  info(text: string): void {
    this.#show(text, 'status');
  }

  error(text: string): void {
    this.#show(text, 'status status-error');
  }

  success(text: string): void {
    this.#show(text, 'status status-success');
  }

  clear(): void {
    this.element.textContent = '';
    this.element.className = 'status';
  }

  #show(text: string, className: string): void {
    this.element.className = className;
    this.element.textContent = text;
  }
}

/** Marks a button busy while `task` runs, so a request cannot be sent twice. */
export async function whileBusy<T>(
  buttons: HTMLButtonElement[],
  container: HTMLElement,
  task: () => Promise<T>,
): Promise<T> {
  for (const button of buttons) {
    button.disabled = true;
  }
  container.setAttribute('aria-busy', 'true');
  try {
    return await task();
  } finally {
    for (const button of buttons) {
      button.disabled = false;
    }
    container.removeAttribute('aria-busy');
  }
}

export function formatDateTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return iso;
  }
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}
