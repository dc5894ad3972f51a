/**
 * The web page against the real server, in real Chromium: accounts, compose, share, reveal,
 * passphrases, bots, size limits, and what the server gets to see.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxPlaintextBytes } from '../../web/src/padding.js';
import type { TestServer } from '../helpers/server.js';
import {
  PASSWORD,
  apiAccount,
  apiCall,
  apiPlainMessage,
  composeInPage,
  cspViolations,
  startServerAndBrowser,
  newWatchedContext,
  registerInPage,
  revealInPage,
  uniqueName,
  type PageProblems,
} from './browser-harness.js';

// Every run writes fresh screenshots here (ignored by git); the README shows copies of them
// kept in docs/screenshots/.
const SCREENSHOTS = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));
const MIXED_TEXT =
  'Emoji 🔐👩🏽‍💻🇳🇱, RTL: שלום עולם / مرحبا بالعالم, and <b>markup</b> & "quotes"\n\tend.';

/** Generous: a busy 2-core machine runs these beside the API tests. */
const BROWSER_TEST_TIMEOUT_MS = 120_000;

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  ({ server, browser } = await startServerAndBrowser());
  mkdirSync(SCREENSHOTS, { recursive: true });
});

afterAll(async () => {
  // Unset when beforeAll failed; startServerAndBrowser has cleaned up then.
  await (browser as Browser | undefined)?.close();
  await (server as TestServer | undefined)?.stop();
});

async function expectClean(page: Page, problems: PageProblems): Promise<void> {
  expect(await cspViolations(page, problems)).toEqual([]);
  expect(problems.errors).toEqual([]);
  expect(problems.dialogs).toEqual([]);
}

function idOf(link: string): string {
  const id = new URL(link).pathname.split('/').at(-1);
  if (id === undefined) throw new Error(`no id in ${link}`);
  return id;
}

async function viewsLeft(id: string): Promise<number | undefined> {
  const rows = await server.query<{ views_left: number }>(
    'SELECT views_left FROM messages WHERE id = $1',
    [id],
  );
  return rows[0]?.views_left;
}

/** A signed-in composer page in its own context. */
async function composer(): Promise<{ page: Page; problems: PageProblems; close(): Promise<void> }> {
  const { context, problems } = await newWatchedContext(browser);
  const page = await context.newPage();
  await registerInPage(page, server.url, uniqueName());
  return { page, problems, close: () => context.close() };
}

describe('the whole flow', { timeout: BROWSER_TEST_TIMEOUT_MS }, () => {
  it('registers, creates a link, reveals it once in a fresh browser with identical text, then says it is gone', async () => {
    const { context, problems } = await newWatchedContext(browser);
    const page = await context.newPage();
    await registerInPage(page, server.url, uniqueName('alice'));
    await page.getByTestId('compose-message').fill(MIXED_TEXT);
    await page.getByTestId('compose-expires').selectOption('3600');
    await page.screenshot({ path: `${SCREENSHOTS}compose.png` });
    await page.getByTestId('compose-submit').click();
    const shareLink = page.getByTestId('share-link');
    await shareLink.waitFor({ state: 'visible' });
    const link = await shareLink.inputValue();
    expect(link).toMatch(new RegExp(`^${server.url}/m/[0-9a-f-]{36}#v1\\.[A-Za-z0-9_-]{43}$`));
    await page.getByTestId('my-messages').getByTestId('revoke').first().waitFor();
    await page.screenshot({ path: `${SCREENSHOTS}share.png` });
    await expectClean(page, problems);

    // A phone-sized screen, before anything is fetched.
    const phone = await newWatchedContext(browser, { viewport: { width: 360, height: 740 } });
    const phonePage = await phone.context.newPage();
    await phonePage.goto(link);
    await phonePage.getByTestId('reveal').waitFor();
    await expect(phonePage.locator('main').textContent()).resolves.toMatch(/may destroy it/);
    await phonePage.screenshot({ path: `${SCREENSHOTS}reveal-360.png`, fullPage: true });
    await expectClean(phonePage, phone.problems);
    await phone.context.close();

    const reader = await newWatchedContext(browser);
    const { page: readPage, text } = await revealInPage(reader.context, link);
    expect(text).toBe(MIXED_TEXT);
    // The key leaves the address bar (and the session history) once it has been used.
    expect(new URL(readPage.url()).hash).toBe('');
    await readPage.screenshot({ path: `${SCREENSHOTS}revealed.png` });
    await expectClean(readPage, reader.problems);
    await reader.context.close();

    const again = await newWatchedContext(browser);
    const second = await revealInPage(again.context, link);
    expect(second.text).toBeNull();
    await expect(second.page.getByTestId('message-gone').textContent()).resolves.toMatch(
      /no longer exists/,
    );
    await expectClean(second.page, again.problems);
    await again.context.close();
    await context.close();
  });

  it('reveals a message of exactly the page limit, with emoji and RTL text, and refuses one byte more', async () => {
    const limit = maxPlaintextBytes(server.config.maxMessageBytes);
    const head = `${MIXED_TEXT}\n`;
    const text = head + 'x'.repeat(limit - Buffer.byteLength(head, 'utf8'));
    expect(Buffer.byteLength(text, 'utf8')).toBe(limit);

    const author = await composer();
    const sent: Request[] = [];
    author.page.on('request', (request) => sent.push(request));
    await author.page.getByTestId('compose-message').fill(`${text}y`);
    await author.page.getByTestId('compose-submit').click();
    await author.page.getByText(/message is too long/).waitFor();
    expect(sent.filter((request) => request.method() === 'POST')).toEqual([]);

    const link = await composeInPage(author.page, text);
    const reader = await newWatchedContext(browser);
    const { page, text: shown } = await revealInPage(reader.context, link);
    expect(shown).toBe(text);
    await expectClean(page, reader.problems);
    await expectClean(author.page, author.problems);
    await reader.context.close();
    await author.close();
  });

  it('shows a plain-text API message of exactly MAX_MESSAGE_BYTES as plain text', async () => {
    const token = await apiAccount(server.url);
    const head = `${MIXED_TEXT}\n`;
    const text = head + 'z'.repeat(server.config.maxMessageBytes - Buffer.byteLength(head, 'utf8'));
    const id = await apiPlainMessage(server.url, token, text);
    const reader = await newWatchedContext(browser);
    const { page, text: shown } = await revealInPage(reader.context, `${server.url}/m/${id}`);
    expect(shown).toBe(text);
    await expectClean(page, reader.problems);
    await reader.context.close();
  });
});

describe('what the server sees', { timeout: BROWSER_TEST_TIMEOUT_MS }, () => {
  it('gets neither the plaintext, the fragment key nor the passphrase, in requests, rows or logs', async () => {
    const secret = `server must not see this ${uniqueName('plain')}`;
    const passphrase = `pass ${uniqueName('phrase')}`;
    const author = await composer();
    const bodies: string[] = [];
    const record = (request: Request) => {
      bodies.push(`${request.url()}\n${request.postData() ?? ''}`);
    };
    author.page.on('request', record);
    const link = await composeInPage(author.page, secret, { passphrase });
    const key = new URL(link).hash.slice(1).split('.')[1] ?? '';
    expect(key).toHaveLength(43);

    const reader = await newWatchedContext(browser);
    reader.context.on('request', record);
    const { text } = await revealInPage(reader.context, link, passphrase);
    expect(text).toBe(secret);

    expect(bodies.some((body) => body.includes('"message":"sn1.'))).toBe(true);
    for (const body of bodies) {
      expect(body).not.toContain(secret);
      expect(body).not.toContain(key);
      expect(body).not.toContain(passphrase);
    }

    const id = idOf(link);
    const rows = await server.query('SELECT * FROM messages WHERE id = $1', [id]);
    const stored = JSON.stringify(rows);
    // Undo the server's own encryption at rest to look at exactly what it was given.
    const row = rows[0] as { content: string | null } | undefined;
    const received = row?.content ? server.services.cipher.open(id, row.content) : '';
    for (const seen of [stored, received, server.logs.join('\n')]) {
      expect(seen).not.toContain(secret);
      expect(seen).not.toContain(key);
      expect(seen).not.toContain(passphrase);
    }
    if (row?.content) expect(received.startsWith('sn1.')).toBe(true);
    await reader.context.close();
    await author.close();
  });
});

describe('bots and passphrases', { timeout: BROWSER_TEST_TIMEOUT_MS }, () => {
  it('does not burn a message when a bot loads the link without clicking', async () => {
    const author = await composer();
    const link = await composeInPage(author.page, 'still here for the human');
    const id = idOf(link);

    const bot = await newWatchedContext(browser);
    const asked: string[] = [];
    bot.context.on('request', (request) => asked.push(`${request.method()} ${request.url()}`));
    const botPage = await bot.context.newPage();
    await botPage.goto(link, { waitUntil: 'networkidle' });
    // The one fixed wait: give a lingering preview bot time to do anything it would do.
    await botPage.waitForTimeout(1500);
    expect(asked.filter((line) => line.includes('/message'))).toEqual([]);
    expect(await viewsLeft(id)).toBe(1);
    await bot.context.close();

    const reader = await newWatchedContext(browser);
    const { text } = await revealInPage(reader.context, link);
    expect(text).toBe('still here for the human');
    await reader.context.close();
    await author.close();
  });

  it('shows an error for a wrong passphrase without using a view, and reveals with the right one', async () => {
    const author = await composer();
    const link = await composeInPage(author.page, 'behind a passphrase', {
      passphrase: 'open sesame',
      views: '2',
    });
    const id = idOf(link);

    const reader = await newWatchedContext(browser);
    const page = await reader.context.newPage();
    await page.goto(link);
    await page.getByTestId('passphrase-input').fill('open sesame?');
    await page.getByTestId('reveal').click();
    await page.getByText(/passphrase is not right/).waitFor();
    expect(await page.getByTestId('message').count()).toBe(0);
    expect(await viewsLeft(id)).toBe(2);

    await page.getByTestId('passphrase-input').fill('open sesame');
    await page.getByTestId('reveal').click();
    await page.getByTestId('message').waitFor();
    await expect(page.getByTestId('message').textContent()).resolves.toBe('behind a passphrase');
    expect(await viewsLeft(id)).toBe(1);
    await expectClean(page, reader.problems);
    await reader.context.close();
    await author.close();
  });

  it('offers no reveal for a link whose key was cut short, so no view is wasted', async () => {
    const author = await composer();
    const link = await composeInPage(author.page, 'needs the whole link');
    const reader = await newWatchedContext(browser);
    const page = await reader.context.newPage();
    await page.goto(link.slice(0, -5));
    await page
      .getByRole('alert')
      .getByText(/damaged or incomplete/)
      .waitFor();
    expect(await page.getByTestId('reveal').isVisible()).toBe(false);
    expect(await viewsLeft(idOf(link))).toBe(1);
    await expectClean(page, reader.problems);
    await reader.context.close();
    await author.close();
  });

  it('asks for the passphrase of a plain-text API message and sends it as typed', async () => {
    const token = await apiAccount(server.url);
    const id = await apiPlainMessage(server.url, token, 'plain but protected', {
      passphrase: 'plain phrase',
    });
    const reader = await newWatchedContext(browser);
    const page = await reader.context.newPage();
    await page.goto(`${server.url}/m/${id}`);
    await page.getByTestId('reveal').click();
    await page.getByTestId('passphrase-input').waitFor({ state: 'visible' });
    await page.getByTestId('passphrase-input').fill('plain phrase');
    await page.getByTestId('reveal').click();
    await expect(page.getByTestId('message').textContent()).resolves.toBe('plain but protected');
    await reader.context.close();
  });
});

describe('accounts and sessions', { timeout: BROWSER_TEST_TIMEOUT_MS }, () => {
  it('explains a taken name, a weak password and wrong credentials', async () => {
    const { context, problems } = await newWatchedContext(browser);
    const page = await context.newPage();
    const taken = uniqueName('taken');
    await apiAccount(server.url, taken);
    await page.goto(`${server.url}/`);

    await page.getByTestId('username').fill(uniqueName('weak'));
    await page.getByTestId('password').fill('short');
    await page.getByTestId('register-submit').click();
    await page.getByText(/password is too weak/).waitFor();

    await page.getByTestId('username').fill(taken.toUpperCase());
    await page.getByTestId('password').fill(PASSWORD);
    await page.getByTestId('register-submit').click();
    await page.getByText('That username is taken').waitFor();

    await page.getByTestId('username').fill(taken);
    await page.getByTestId('password').fill('not the password at all');
    await page.getByTestId('login-submit').click();
    await page.getByText('Wrong username or password').waitFor();
    expect(await page.getByTestId('logout').isVisible()).toBe(false);
    await expectClean(page, problems);
    await context.close();
  });

  it('sends an expired session back to sign-in and keeps the draft', async () => {
    const { context, problems } = await newWatchedContext(browser);
    const page = await context.newPage();
    const username = uniqueName('draft');
    await registerInPage(page, server.url, username);
    const draft = 'my unsent draft 📝';
    await page.getByTestId('compose-message').fill(draft);
    const saved = await page.evaluate<string | null>("sessionStorage.getItem('sealnote.session')");
    const token = (JSON.parse(saved ?? '{}') as { token?: string }).token ?? '';
    // The server ends the session (as at expiry); the page learns it on its next request.
    expect((await apiCall(server.url, 'POST', '/auth/logout', { token })).status).toBe(204);

    await page.getByTestId('compose-submit').click();
    await page.getByText(/session has ended/).waitFor();
    expect(await page.getByTestId('compose-message').isVisible()).toBe(false);
    await page.getByTestId('username').fill(username);
    await page.getByTestId('password').fill(PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('compose-message').waitFor({ state: 'visible' });
    await expect(page.getByTestId('compose-message').inputValue()).resolves.toBe(draft);
    await expectClean(page, problems);
    await context.close();
  });

  it('keeps the token in sessionStorage only and clears it on sign-out', async () => {
    const { context, problems } = await newWatchedContext(browser);
    const page = await context.newPage();
    await registerInPage(page, server.url, uniqueName('storage'));
    expect(await page.evaluate<number>('localStorage.length')).toBe(0);
    expect(
      await page.evaluate<string | null>("sessionStorage.getItem('sealnote.session')"),
    ).not.toBeNull();
    await page.getByTestId('compose-message').fill('left behind');
    await page.getByTestId('logout').click();
    await page.getByTestId('login-submit').waitFor({ state: 'visible' });
    expect(await page.evaluate<number>('sessionStorage.length + localStorage.length')).toBe(0);
    await expect(page.getByTestId('compose-message').inputValue()).resolves.toBe('');
    await expectClean(page, problems);
    await context.close();
  });

  it('can be used with the keyboard alone', async () => {
    const { context, problems } = await newWatchedContext(browser);
    const page = await context.newPage();
    const username = uniqueName('keys');
    await apiAccount(server.url, username);
    await page.goto(`${server.url}/`);
    await page.getByTestId('username').focus();
    await page.keyboard.type(username);
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByTestId('compose-message').waitFor({ state: 'visible' });
    await page.getByTestId('compose-message').focus();
    await page.keyboard.type('typed only');
    for (let i = 0; i < 4; i += 1) await page.keyboard.press('Tab');
    await expect(
      page.evaluate<string | null>("document.activeElement.getAttribute('data-testid')"),
    ).resolves.toBe('compose-submit');
    await page.keyboard.press('Enter');
    await page.getByTestId('share-link').waitFor({ state: 'visible' });
    await expectClean(page, problems);
    await context.close();
  });
});

describe('own messages and care after reading', { timeout: BROWSER_TEST_TIMEOUT_MS }, () => {
  it('lists live messages with views and expiry, and revoke makes a link dead', async () => {
    const author = await composer();
    const link = await composeInPage(author.page, 'to be revoked', { views: '3' });
    const list = author.page.getByTestId('my-messages');
    const row = list.locator(`li[data-id="${idOf(link)}"]`);
    await row.waitFor();
    await expect(row.textContent()).resolves.toMatch(/3 of 3 views left.*Expires/);
    await row.getByTestId('revoke').click();
    await row.waitFor({ state: 'detached' });
    expect(await viewsLeft(idOf(link))).toBeUndefined();

    const reader = await newWatchedContext(browser);
    const { text } = await revealInPage(reader.context, link);
    expect(text).toBeNull();
    await expectClean(author.page, author.problems);
    await reader.context.close();
    await author.close();
  });

  it('copies with an offer to clear the clipboard after 60 s, and hides the secret on pagehide', async () => {
    const author = await composer();
    const link = await composeInPage(author.page, 'copy me');
    const reader = await newWatchedContext(browser);
    await reader.context.grantPermissions(['clipboard-read', 'clipboard-write'], {
      origin: server.url,
    });
    const page = await reader.context.newPage();
    await page.clock.install();
    await page.goto(link);
    await page.getByTestId('reveal').click();
    await page.getByTestId('message').waitFor();
    await page.getByRole('button', { name: 'Copy secret' }).click();
    await page.getByText(/cleared in 60 seconds/).waitFor();
    await expect(page.evaluate<string>('navigator.clipboard.readText()')).resolves.toBe('copy me');
    await page.clock.fastForward(60_000);
    await page.getByText('Clipboard cleared.').waitFor();
    await expect(page.evaluate<string>('navigator.clipboard.readText()')).resolves.toBe('');

    await page.evaluate("window.dispatchEvent(new PageTransitionEvent('pagehide'))");
    expect(await page.getByTestId('message').count()).toBe(0);
    await expect(page.locator('main').textContent()).resolves.not.toContain('copy me');
    await expectClean(page, reader.problems);
    await reader.context.close();
    await author.close();
  });
});
