import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, uid } from '../packages/server/test/helpers/server.js';
import { axeViolations } from './axe.js';
import { chromiumAvailable, launchChromium } from './browser.js';
import { conversationItem, DESKTOP, PHONE, WebUser } from './web-app-driver.js';

const enabled = chromiumAvailable();
const POLL = { timeout: 15_000, interval: 50 };

/** axe-core on every main screen at both widths, and the keyboard paths through the app (issue 10 item 13). */
describe.runIf(enabled)('accessibility of the web app', () => {
  let server: TestServer;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    server = await startTestServer({ registrationsPerHour: 1000 });
    base = server.httpUrl;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  /** Checks the screen and saves it, so a violation's fix can be seen too. */
  async function expectClean(user: WebUser, screen: string, page: Page = user.page): Promise<void> {
    await user.screenshot(`a11y-${screen}`, page);
    expect(await axeViolations(page), screen).toEqual([]);
  }

  for (const [width, viewport] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    it(`has no axe-core violation on the main screens (${width})`, async () => {
      const context = await browser.newContext({ viewport });
      const login = await context.newPage();
      await login.goto(base);
      await login.getByRole('button', { name: 'Log in' }).waitFor();
      expect(await axeViolations(login), 'login').toEqual([]);
      await context.close();

      const bob = await WebUser.signUp(browser, base, uid('bob'), viewport);
      const carol = await WebUser.signUp(browser, base, uid('carol'), viewport);
      const alice = await WebUser.signUp(browser, base, uid('alice'), viewport);
      await expectClean(alice, `${width}-empty`);

      await alice.page.getByRole('button', { name: 'New conversation' }).click();
      await alice.page.getByRole('dialog').waitFor();
      await expectClean(alice, `${width}-new-conversation`);
      await alice.page.keyboard.press('Escape');
      await expect.poll(() => alice.page.getByRole('dialog').count(), POLL).toBe(0);

      await alice.startDirect(bob.username);
      await alice.send('Hello **Bob**, see https://example.com');
      await bob.open(alice.username);
      await bob.send('Hi Alice! 👋');
      await expect.poll(() => alice.page.locator('.message').count(), POLL).toBe(2);
      await expectClean(alice, `${width}-direct`);

      if (width === 'phone') await alice.page.getByRole('button', { name: 'Back to conversations' }).click();
      await alice.createGroup('Trip planning', [bob.username, carol.username]);
      await alice.send('Where do we go?');
      if (width === 'phone') {
        await alice.page.getByRole('button', { name: 'Conversation settings' }).click();
        await alice.page
          .getByRole('dialog', { name: 'Conversation settings' })
          .getByRole('button', { name: 'Members' })
          .click();
      } else {
        await alice.page.getByRole('button', { name: 'Members', exact: true }).click();
      }
      await alice.page.getByRole('region', { name: 'Members' }).waitFor();
      await expectClean(alice, `${width}-group-members`);
      await alice.page.keyboard.press('Escape');
      await expect.poll(() => alice.page.getByRole('region', { name: 'Members' }).count(), POLL).toBe(0);

      if (width === 'phone') await alice.page.getByRole('button', { name: 'Back to conversations' }).click();
      await alice.page.getByLabel('Search messages').fill('Bob');
      await alice.page.locator('.search-hit').first().waitFor();
      await expectClean(alice, `${width}-search`);

      await Promise.all([alice.close(), bob.close(), carol.close()]);
    }, 120_000);
  }

  for (const scheme of ['light', 'dark'] as const) {
    it(`has no axe-core violation on the secondary screens in ${scheme} mode: thread, message info, pins, settings`, async () => {
      const bob = await WebUser.signUp(browser, base, uid('bob'));
      const alice = await WebUser.signUp(browser, base, uid('alice'));
      const page = alice.page;
      await page.emulateMedia({ colorScheme: scheme });
      await alice.createGroup('Book club', [bob.username]);
      await alice.send('Next book: _Middlemarch_?');
      await bob.open('Book club');
      await bob.send('Yes! `chapter 1` by Friday');
      await expect.poll(() => page.locator('.message').count(), POLL).toBe(2);
      await expectClean(alice, `${scheme}-group`);

      const actions = await alice.openMessageActions('Next book');
      await expectClean(alice, `${scheme}-message-actions`);
      await actions.getByRole('button', { name: 'Reply in thread' }).click();
      const thread = page.getByRole('region', { name: 'Thread' });
      await thread.getByLabel('Reply in thread').fill('I have a copy to lend');
      await thread.getByLabel('Reply in thread').press('Enter');
      await thread.locator('.thread-row:not(.thread-root)').first().waitFor();
      await expectClean(alice, `${scheme}-thread`);
      await page.keyboard.press('Escape');
      await expect.poll(() => thread.count(), POLL).toBe(0);

      const info = await alice.openMessageActions('Next book');
      await info.getByRole('button', { name: 'Message info' }).click();
      await page.getByRole('dialog', { name: 'Message info' }).waitFor();
      await expectClean(alice, `${scheme}-message-info`);
      await page.keyboard.press('Escape');

      const pin = await alice.openMessageActions('Next book');
      await pin.getByRole('button', { name: 'Pin message' }).click();
      await page.getByRole('button', { name: 'Pinned messages (1)' }).click();
      await page.getByRole('dialog', { name: 'Pinned messages' }).waitFor();
      await expectClean(alice, `${scheme}-pinned`);
      await page.keyboard.press('Escape');

      await page.getByRole('button', { name: 'Settings', exact: true }).click();
      await page.getByRole('dialog', { name: 'Settings' }).waitFor();
      await expectClean(alice, `${scheme}-settings`);

      await Promise.all([alice.close(), bob.close()]);
    }, 120_000);
  }

  it('works from the keyboard: arrows in the list, Ctrl+K switches, Escape closes, dialogs focus their first field', async () => {
    const bob = await WebUser.signUp(browser, base, uid('bob'));
    const carol = await WebUser.signUp(browser, base, uid('carol'));
    const alice = await WebUser.signUp(browser, base, uid('alice'));
    const page = alice.page;
    await alice.startDirect(bob.username);
    await alice.send('first');
    await alice.startDirect(carol.username);
    await alice.send('second');

    // The dialog's first field has the focus.
    await page.getByRole('button', { name: 'New conversation' }).click();
    await expect.poll(() => page.evaluate('document.activeElement?.tagName'), POLL).toBe('INPUT');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog').count(), POLL).toBe(0);

    // Arrow keys move between conversations in the list; Enter opens one.
    await conversationItem(page, carol.username).focus();
    await page.keyboard.press('ArrowDown');
    await expect
      .poll(() => page.evaluate("document.activeElement?.textContent ?? ''"), POLL)
      .toContain(bob.username);
    await page.keyboard.press('ArrowUp');
    await expect
      .poll(() => page.evaluate("document.activeElement?.textContent ?? ''"), POLL)
      .toContain(carol.username);
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('.conversation-header h2').textContent(), POLL).toBe(bob.username);

    // Ctrl+K opens the switcher with its field focused; typing filters, Enter opens.
    await page.getByLabel('Message', { exact: true }).focus();
    await page.keyboard.press('Control+k');
    const switcher = page.getByRole('dialog', { name: 'Go to conversation' });
    await switcher.waitFor();
    await expect
      .poll(() => page.evaluate("document.activeElement?.getAttribute('aria-label')"), POLL)
      .toBe('Conversation name');
    await alice.screenshot('keyboard-switcher');
    expect(await axeViolations(page)).toEqual([]);
    await page.keyboard.type(carol.username.slice(0, 8));
    await expect.poll(() => switcher.getByRole('option').count(), POLL).toBe(1);
    await page.keyboard.press('Enter');
    await expect.poll(() => switcher.count(), POLL).toBe(0);
    await expect.poll(() => page.locator('.conversation-header h2').textContent(), POLL).toBe(carol.username);
    // The message field has the focus, ready to type.
    await expect
      .poll(() => page.evaluate("document.activeElement?.getAttribute('aria-label')"), POLL)
      .toBe('Message');

    // Escape closes the switcher without going anywhere.
    await page.keyboard.press('Control+k');
    await switcher.waitFor();
    await page.keyboard.press('Escape');
    await expect.poll(() => switcher.count(), POLL).toBe(0);
    await expect.poll(() => page.locator('.conversation-header h2').textContent(), POLL).toBe(carol.username);

    await Promise.all([alice.close(), bob.close(), carol.close()]);
  });
});
