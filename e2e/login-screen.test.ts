import type { Browser, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatterHttp } from '../packages/client/src/index.js';
import { startTestServer, type TestServer, uid } from '../packages/server/test/helpers/server.js';
import { chromiumAvailable, launchChromium } from './browser.js';

const enabled = chromiumAvailable();
/** The first screen's JavaScript budget, as transferred (compressed): docs/operations.md. */
const JS_BUDGET_BYTES = 150 * 1024;
const PASSWORD = 'correct horse battery';

/** Everything the page reports as an error: console errors (CSP violations among them) and uncaught exceptions. */
function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  return errors;
}

interface ScriptTransfer {
  encoding: string | undefined;
  /** The body as it came over the wire: compressed when `encoding` says so. */
  bytes: number;
}

async function transferOf(request: Request): Promise<ScriptTransfer> {
  const response = await request.response();
  return {
    encoding: response?.headers()['content-encoding'],
    bytes: (await request.sizes()).responseBodySize,
  };
}

/** The login screen in Chromium: a first visit with a cold cache, then signing in; the login rate limit. */
describe.runIf(enabled)('the login screen', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startTestServer({ loginAttemptsPerMinute: 2 });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  it('logs no error on load and sign-in, and transfers under 150 KB of compressed JavaScript', async () => {
    const username = uid('first');
    await new NatterHttp(server.httpUrl).register(username, PASSWORD);
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = collectErrors(page);
    const scripts: Array<Promise<ScriptTransfer>> = [];
    page.on('requestfinished', (request) => {
      if (request.resourceType() === 'script') scripts.push(transferOf(request));
    });

    await page.goto(server.httpUrl);
    const logIn = page.getByRole('button', { name: 'Log in' });
    await expect.poll(() => logIn.isEnabled()).toBe(true);
    const transfers = await Promise.all(scripts);
    expect(transfers.length).toBeGreaterThan(0);
    expect(transfers.map((t) => t.encoding)).toEqual(transfers.map(() => 'br'));
    const transferred = transfers.reduce((sum, t) => sum + t.bytes, 0);
    expect(transferred).toBeLessThan(JS_BUDGET_BYTES);

    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    await logIn.click();
    await page.getByRole('button', { name: 'New conversation' }).waitFor();
    await page.waitForLoadState('networkidle');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('says how long to wait when logins are rate limited', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(server.httpUrl);
    await page.getByLabel('Username').fill(uid('guess'));
    await page.getByLabel('Password').fill('not the password');
    const logIn = page.getByRole('button', { name: 'Log in' });
    const alert = page.getByRole('alert');
    for (const _ of [1, 2]) {
      await logIn.click();
      await expect.poll(() => alert.textContent()).toBe('Wrong username or password.');
      await expect.poll(() => logIn.isEnabled()).toBe(true);
    }
    await logIn.click();
    await expect.poll(() => alert.textContent()).toMatch(/^Too many attempts, try again in [1-9]\d* s\.$/);
    await context.close();
  });
});
