/**
 * Display without XSS: every payload, created through the page (encrypted) and as plain text
 * through the API, is revealed in the plain and the Markdown view. Nothing may run, no dialog may
 * open, no element in the message area may carry an on* attribute or a javascript: URL, and the
 * page must cause no CSP or Trusted Types violation.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../helpers/server.js';
import {
  apiAccount,
  apiPlainMessage,
  composeInPage,
  cspViolations,
  startServerAndBrowser,
  newWatchedContext,
  registerInPage,
  uniqueName,
  type PageProblems,
} from './browser-harness.js';
import { XSS_PAYLOADS } from './xss-payloads.js';

/** Runs in the page: what a payload could have left behind. A string, as Node has no DOM types. */
const INSPECT = `(() => {
  const area = document.querySelector('[data-testid="message-area"]');
  const unsafe = [];
  for (const element of area ? area.querySelectorAll('*') : []) {
    for (const attribute of element.attributes) {
      const value = attribute.value.replace(/[\\u0000-\\u0020]/g, '').toLowerCase();
      if (/^on/i.test(attribute.name) || value.startsWith('javascript:')) {
        unsafe.push(element.tagName + ' ' + attribute.name + '=' + attribute.value);
      }
    }
  }
  const frames = [...document.querySelectorAll('iframe, object, embed, frame')].length;
  const plain = document.querySelector('[data-testid="message"]');
  return {
    unsafe,
    frames,
    plainChildren: plain ? plain.children.length : -1,
    flag: window.__xss ?? null,
    violations: window.__cspViolations ?? [],
  };
})()`;

interface Inspection {
  unsafe: string[];
  frames: number;
  plainChildren: number;
  flag: unknown;
  violations: string[];
}

/** Each pass reveals every payload twice; on a busy 2-core machine that takes a while. */
const CORPUS_TIMEOUT_MS = 240_000;

let server: TestServer;
let browser: Browser;
let token: string;

beforeAll(async () => {
  ({ server, browser } = await startServerAndBrowser());
  token = await apiAccount(server.url);
});

afterAll(async () => {
  // Unset when beforeAll failed; startServerAndBrowser has cleaned up then.
  await (browser as Browser | undefined)?.close();
  await (server as TestServer | undefined)?.stop();
});

/** Reveals `link` in `page`, then looks at the plain view and at the Markdown view. */
async function revealAndInspect(page: Page, link: string, payload: string): Promise<void> {
  await page.goto(link);
  await page.getByTestId('reveal').click();
  const message = page.getByTestId('message');
  await message.waitFor();
  expect(await message.textContent(), payload).toBe(payload);
  const plain = await page.evaluate<Inspection>(INSPECT);
  expect(plain, payload).toEqual({
    unsafe: [],
    frames: 0,
    plainChildren: 0,
    flag: null,
    violations: [],
  });

  await page.getByLabel('Show formatted (Markdown)').check();
  await page.getByTestId('message-formatted').waitFor();
  const formatted = await page.evaluate<Inspection>(INSPECT);
  expect({ ...formatted, plainChildren: 0 }, payload).toEqual({
    unsafe: [],
    frames: 0,
    plainChildren: 0,
    flag: null,
    violations: [],
  });
}

async function expectNothingRan(page: Page, problems: PageProblems): Promise<void> {
  expect(await cspViolations(page, problems)).toEqual([]);
  expect(problems.errors).toEqual([]);
  expect(problems.dialogs).toEqual([]);
}

async function reader(options: { bypassCSP?: boolean } = {}): Promise<{
  context: BrowserContext;
  page: Page;
  problems: PageProblems;
}> {
  const { context, problems } = await newWatchedContext(browser, options);
  return { context, problems, page: await context.newPage() };
}

describe('XSS corpus', { timeout: CORPUS_TIMEOUT_MS }, () => {
  it('has at least 30 payloads', () => {
    expect(XSS_PAYLOADS.length).toBeGreaterThanOrEqual(30);
  });

  it('shows every payload written in the page (encrypted) as inert text', async () => {
    const author = await newWatchedContext(browser);
    const authorPage = await author.context.newPage();
    await registerInPage(authorPage, server.url, uniqueName('xss'));
    const links: string[] = [];
    for (const payload of XSS_PAYLOADS) {
      links.push(await composeInPage(authorPage, payload));
    }
    await expectNothingRan(authorPage, author.problems);

    const { context, page, problems } = await reader();
    for (const [index, payload] of XSS_PAYLOADS.entries()) {
      await revealAndInspect(page, links[index] ?? '', payload);
    }
    await expectNothingRan(page, problems);
    await context.close();
    await author.context.close();
  });

  it('shows every payload stored as plain text through the API as inert text', async () => {
    const ids = await Promise.all(
      XSS_PAYLOADS.map((payload) => apiPlainMessage(server.url, token, payload)),
    );
    const { context, page, problems } = await reader();
    for (const [index, payload] of XSS_PAYLOADS.entries()) {
      await revealAndInspect(page, `${server.url}/m/${ids[index] ?? ''}`, payload);
    }
    await expectNothingRan(page, problems);
    await context.close();
  });

  it('runs none of them even with the CSP switched off, so the page itself is the defence', async () => {
    const ids = await Promise.all(
      XSS_PAYLOADS.map((payload) => apiPlainMessage(server.url, token, payload)),
    );
    const { context, page, problems } = await reader({ bypassCSP: true });
    for (const [index, payload] of XSS_PAYLOADS.entries()) {
      await revealAndInspect(page, `${server.url}/m/${ids[index] ?? ''}`, payload);
    }
    expect(problems.errors).toEqual([]);
    expect(problems.dialogs).toEqual([]);
    await context.close();
  });
});
