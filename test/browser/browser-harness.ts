/**
 * Shared pieces of the browser tests: Debian's Chromium driven by playwright-core (no browser
 * download), a context that records CSP and Trusted Types violations, and API shortcuts.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.js';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const PASSWORD = 'a long enough password 🔑';
/** Upper bound for any single wait on the page; PBKDF2 on a busy 2-core machine is the slowest. */
export const STEP_TIMEOUT_MS = 20_000;

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `No Chromium at ${CHROMIUM_PATH}: install Debian's chromium package ` +
        '(apt-get install chromium) or set CHROMIUM_PATH',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    // Flags as required on these machines: no sandbox as root, and no background connections,
    // which the closed network refuses.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 60_000,
  });
}

/**
 * A listening test server and a browser, started side by side. If either fails to start, the
 * other is stopped before the error is passed on, so a missing Chromium leaves no server behind.
 */
export async function startServerAndBrowser(): Promise<{ server: TestServer; browser: Browser }> {
  const [server, browser] = await Promise.allSettled([
    startTestServer({ listen: true }),
    launchBrowser(),
  ]);
  if (server.status === 'fulfilled' && browser.status === 'fulfilled') {
    return { server: server.value, browser: browser.value };
  }
  if (server.status === 'fulfilled') await server.value.stop();
  if (browser.status === 'fulfilled') await browser.value.close();
  throw server.status === 'rejected' ? server.reason : (browser as PromiseRejectedResult).reason;
}

export function uniqueName(prefix = 'user'): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/** Problems the page caused: CSP or Trusted Types violations, uncaught errors, dialogs. */
export interface PageProblems {
  readonly csp: string[];
  readonly errors: string[];
  readonly dialogs: string[];
}

/**
 * A fresh context whose pages report every securitypolicyviolation event (the init script runs
 * through the DevTools protocol, so the page's CSP does not block it) and every console message
 * that mentions a policy.
 */
export async function newWatchedContext(
  browser: Browser,
  options: BrowserContextOptions = {},
): Promise<{ context: BrowserContext; problems: PageProblems }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  // A string, not a function: this project's Node types have no DOM to type it with.
  await context.addInitScript({
    content: `
      window.__cspViolations = [];
      document.addEventListener('securitypolicyviolation', (event) => {
        window.__cspViolations.push(event.violatedDirective + ' ' + event.blockedURI);
      });
    `,
  });
  const problems: PageProblems = { csp: [], errors: [], dialogs: [] };
  context.on('page', (page) => {
    watchPage(page, problems);
  });
  return { context, problems };
}

function watchPage(page: Page, problems: PageProblems): void {
  page.on('console', (message) => {
    const text = message.text();
    if (/content security policy|trusted ?type/i.test(text)) {
      problems.csp.push(text);
    }
  });
  page.on('pageerror', (error) => {
    problems.errors.push(error.message);
  });
  page.on('dialog', (dialog) => {
    problems.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
}

/** Violations the page itself saw, merged with what the console said. */
export async function cspViolations(page: Page, problems: PageProblems): Promise<string[]> {
  const seen = await page.evaluate<string[]>('window.__cspViolations ?? []');
  return [...seen, ...problems.csp];
}

interface JsonResponse {
  status: number;
  body: unknown;
}

export async function apiCall(
  base: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<JsonResponse> {
  const headers: Record<string, string> = {};
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const response = await fetch(base + path, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

/** Registers and signs in through the API; returns the bearer token. */
export async function apiAccount(base: string, username = uniqueName()): Promise<string> {
  const registered = await apiCall(base, 'POST', '/auth/register', {
    body: { username, password: PASSWORD },
  });
  if (registered.status !== 201) throw new Error(`register answered ${registered.status}`);
  const login = await apiCall(base, 'POST', '/auth/login', {
    body: { username, password: PASSWORD },
  });
  if (login.status !== 200) throw new Error(`login answered ${login.status}`);
  return (login.body as { access_token: string }).access_token;
}

/** Stores a message in plain text through the API, as a script would; returns its id. */
export async function apiPlainMessage(
  base: string,
  token: string,
  message: string,
  extra: { max_views?: number; passphrase?: string } = {},
): Promise<string> {
  const created = await apiCall(base, 'POST', '/message', { token, body: { message, ...extra } });
  if (created.status !== 201) throw new Error(`create answered ${created.status}`);
  return (created.body as { id: string }).id;
}

/** Registers through the page and waits for the compose form. */
export async function registerInPage(page: Page, base: string, username: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.getByTestId('username').fill(username);
  await page.getByTestId('password').fill(PASSWORD);
  await page.getByTestId('register-submit').click();
  await page.getByTestId('compose-message').waitFor({ state: 'visible' });
}

/** Writes a message in the compose form and returns the share link. */
export async function composeInPage(
  page: Page,
  message: string,
  options: { passphrase?: string; views?: string; expires?: string } = {},
): Promise<string> {
  await page.getByTestId('compose-message').fill(message);
  if (options.views !== undefined) {
    await page.getByTestId('compose-max-views').selectOption(options.views);
  }
  if (options.expires !== undefined) {
    await page.getByTestId('compose-expires').selectOption(options.expires);
  }
  await page.getByTestId('compose-passphrase').fill(options.passphrase ?? '');
  await page.getByTestId('compose-submit').click();
  const link = page.getByTestId('share-link');
  await link.waitFor({ state: 'visible' });
  const url = await link.inputValue();
  await page.getByRole('button', { name: 'Write another secret' }).click();
  await page.getByTestId('compose-message').waitFor({ state: 'visible' });
  return url;
}

/** Opens a link in a new page of `context` and reveals it; returns the shown text. */
export async function revealInPage(
  context: BrowserContext,
  link: string,
  passphrase?: string,
): Promise<{ page: Page; text: string | null }> {
  const page = await context.newPage();
  await page.goto(link);
  if (passphrase !== undefined) {
    await page.getByTestId('passphrase-input').fill(passphrase);
  }
  await page.getByTestId('reveal').click();
  const shown = page.getByTestId('message').or(page.getByTestId('message-gone'));
  await shown.first().waitFor({ state: 'visible' });
  const gone = await page.getByTestId('message-gone').count();
  return { page, text: gone > 0 ? null : await page.getByTestId('message').textContent() };
}
