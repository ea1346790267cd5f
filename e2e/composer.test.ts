import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, uid } from '../packages/server/test/helpers/server.js';
import { axeViolations } from './axe.js';
import { chromiumAvailable, launchChromium } from './browser.js';
import { messageTexts, PHONE, WebUser, WIDE_DESKTOP } from './web-app-driver.js';

const enabled = chromiumAvailable();
const POLL = { timeout: 15_000, interval: 50 };

function composer(page: Page) {
  return page.getByLabel('Message', { exact: true });
}

function heightOf(page: Page): Promise<{ height: number; scrolls: boolean }> {
  return composer(page).evaluate((input) => ({
    height: input.getBoundingClientRect().height,
    scrolls: input.scrollHeight > input.clientHeight + 1,
  }));
}

/** The composer grows with what you write and keeps it per conversation until you send it. */
describe.runIf(enabled)('the composer', () => {
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

  for (const [width, viewport] of [
    ['desktop', WIDE_DESKTOP],
    ['phone', PHONE],
  ] as const) {
    it(`${width}: grows up to a limit, then scrolls; a draft stays per conversation across switching and reload, until sent`, async () => {
      const alice = await WebUser.signUp(browser, base, uid('alice'));
      const carol = await WebUser.signUp(browser, base, uid('carol'));
      const bob = await WebUser.signUp(browser, base, uid('bob'), viewport);
      const toList = async () => {
        if (width === 'phone') await bob.page.getByRole('button', { name: 'Back to conversations' }).click();
      };
      await bob.startDirect(carol.username);
      await toList();
      await bob.startDirect(alice.username);

      // One line once the opened conversation has been laid out (a first sample can precede layout).
      await expect.poll(async () => (await heightOf(bob.page)).height, POLL).toBeGreaterThan(0);
      const oneLine = await heightOf(bob.page);
      await composer(bob.page).fill('Three lines:\nsecond\nthird');
      await expect
        .poll(async () => (await heightOf(bob.page)).height, POLL)
        .toBeGreaterThan(oneLine.height + 30);
      expect((await heightOf(bob.page)).scrolls).toBe(false);
      const long = Array.from({ length: 20 }, (_, i) => `point ${i + 1}`).join('\n');
      await composer(bob.page).fill(long);
      await expect.poll(() => heightOf(bob.page), POLL).toEqual({ height: 160, scrolls: true });
      await bob.screenshot(`composer-grown-${width}`);

      // Another conversation has its own (empty) composer; coming back finds the draft.
      await toList();
      await bob.open(carol.username);
      expect(await composer(bob.page).inputValue()).toBe('');
      await bob.send('Hi Carol');
      await toList();
      await bob.open(alice.username);
      expect(await composer(bob.page).inputValue()).toBe(long);
      await bob.page.reload();
      await composer(bob.page).waitFor();
      await expect.poll(() => composer(bob.page).inputValue(), POLL).toBe(long);
      await expect.poll(() => heightOf(bob.page), POLL).toEqual({ height: 160, scrolls: true });
      await bob.screenshot(`composer-draft-after-reload-${width}`);

      // Sent: the draft is gone, and the composer is one line again.
      await composer(bob.page).press('Enter');
      await expect.poll(() => messageTexts(bob.page), POLL).toEqual([long]);
      await expect.poll(() => heightOf(bob.page), POLL).toEqual(oneLine);
      await bob.page.reload();
      await composer(bob.page).waitFor();
      expect(await composer(bob.page).inputValue()).toBe('');
      for (const user of [alice, bob, carol]) await user.close();
    }, 60_000);
  }

  for (const [width, viewport] of [
    ['desktop', WIDE_DESKTOP],
    ['phone', PHONE],
  ] as const) {
    it(`${width}: the emoji picker searches by name, puts the emoji at the caret, keeps a skin tone and recent ones`, async () => {
      const alice = await WebUser.signUp(browser, base, uid('alice'));
      const bob = await WebUser.signUp(browser, base, uid('bob'), viewport);
      const page = bob.page;
      await bob.startDirect(alice.username);
      await composer(page).fill('Great  job');
      await composer(page).press('Home');
      for (let i = 0; i < 6; i++) await composer(page).press('ArrowRight');

      const picker = page.getByRole('dialog', { name: 'Emoji' });
      await page.getByRole('button', { name: 'Emoji', exact: true }).click();
      // The search field has the focus; a category shows until something is typed.
      await expect
        .poll(() => page.evaluate("document.activeElement?.getAttribute('aria-label')"), POLL)
        .toBe('Search emoji');
      await picker.getByRole('button', { name: 'grinning face', exact: true }).waitFor(POLL);
      await bob.screenshot(`composer-emoji-picker-${width}`);
      expect(await axeViolations(page)).toEqual([]);
      await page.keyboard.type('thumbs up');
      await picker.getByRole('button', { name: 'thumbs up', exact: true }).click();
      expect(await composer(page).inputValue()).toBe('Great 👍 job');

      // A skin tone applies to the emoji that take one; Escape closes and the caret is back in the field.
      await picker.getByLabel('Skin tone').selectOption('3');
      await picker.getByRole('button', { name: 'thumbs up', exact: true }).click();
      expect(await composer(page).inputValue()).toBe('Great 👍👍🏽 job');
      await page.keyboard.press('Escape');
      await expect.poll(() => picker.count(), POLL).toBe(0);
      await expect
        .poll(() => page.evaluate("document.activeElement?.getAttribute('aria-label')"), POLL)
        .toBe('Message');

      // Reopened, it starts with the recently used ones, newest first.
      await page.getByRole('button', { name: 'Emoji', exact: true }).click();
      await expect
        .poll(() => picker.locator('.emoji-choices button').allTextContents(), POLL)
        .toEqual(['👍🏽', '👍']);
      await page.keyboard.press('Escape');
      await composer(page).press('Enter');
      await alice.open(bob.username);
      await expect.poll(() => messageTexts(alice.page), POLL).toEqual(['Great 👍👍🏽 job']);
      for (const user of [alice, bob]) await user.close();
    }, 60_000);
  }
});
