/** Sign in and register: one form, two actions. */
import type { ApiClient } from '../api-client.js';
import { ApiError } from '../api-client.js';
import { StatusLine, field, h, whileBusy } from '../dom.js';
import { describeError } from '../problem-text.js';
import type { SessionStore } from '../session-store.js';
import { passwordProblem, usernameProblem } from '../validation.js';

export interface AuthView {
  readonly element: HTMLElement;
  /** Shows the form, optionally with a notice such as "your session expired". */
  show(notice?: string): void;
  hide(): void;
}

export function createAuthView(
  api: ApiClient,
  sessions: SessionStore,
  onSignedIn: () => void,
): AuthView {
  const username = h('input', {
    type: 'text',
    name: 'username',
    autocomplete: 'username',
    autocapitalize: 'none',
    spellcheck: 'false',
    required: true,
    maxlength: '32',
    'data-testid': 'username',
  });
  const password = h('input', {
    type: 'password',
    name: 'password',
    autocomplete: 'current-password',
    required: true,
    'data-testid': 'password',
  });
  const login = h('button', { type: 'submit', 'data-testid': 'login-submit' }, 'Sign in');
  const register = h(
    'button',
    { type: 'button', class: 'button-secondary', 'data-testid': 'register-submit' },
    'Create account',
  );
  const notice = h('p', { class: 'notice', hidden: true });
  const status = new StatusLine();
  const heading = h('h2', { id: 'auth-heading' }, 'Sign in to write a secret');
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': heading.id, novalidate: true },
    heading,
    notice,
    field('Username', username, '3 to 32 letters, digits, dots, underscores or hyphens.'),
    field('Password', password, 'At least 12 characters for a new account.'),
    h('div', { class: 'actions' }, login, register),
    status.element,
  );

  async function signIn(): Promise<void> {
    const result = await api.login(username.value, password.value);
    sessions.start(result.access_token, username.value, result.expires_in);
    password.value = '';
    status.clear();
    onSignedIn();
  }

  form.addEventListener('submit', (event) => {
    // form-action 'none' in the CSP: the form never navigates, the script sends the request.
    event.preventDefault();
    if (!username.value || !password.value) {
      status.error('Enter your username and password.');
      (username.value ? password : username).focus();
      return;
    }
    status.info('Signing in…');
    whileBusy([login, register], form, signIn).catch((error: unknown) => {
      status.error(
        error instanceof ApiError && error.status === 401
          ? 'Wrong username or password.'
          : describeError(error, 'Could not sign in.'),
      );
      password.focus();
    });
  });

  register.addEventListener('click', () => {
    const problem = usernameProblem(username.value) ?? passwordProblem(password.value);
    if (problem) {
      status.error(problem);
      (usernameProblem(username.value) ? username : password).focus();
      return;
    }
    status.info('Creating your account…');
    whileBusy([login, register], form, async () => {
      await api.register(username.value, password.value);
      status.info('Account created. Signing in…');
      await signIn();
    }).catch((error: unknown) => {
      status.error(
        error instanceof ApiError && error.status === 409
          ? 'That username is taken. Choose another one.'
          : describeError(error, 'Could not create the account.'),
      );
      (error instanceof ApiError && error.status === 409 ? username : password).focus();
    });
  });

  return {
    element: form,
    show(message) {
      form.hidden = false;
      notice.hidden = !message;
      notice.textContent = message ?? '';
      if (sessions.current === null && message) {
        username.focus();
      }
    },
    hide() {
      form.hidden = true;
      password.value = '';
      status.clear();
    },
  };
}
