import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, uid } from '../packages/server/test/helpers/server.js';
import { chromiumAvailable, launchChromium } from './browser.js';
import { sendFromNode } from './node-sender.js';
import {
  conversationItem,
  inMessageView,
  messageLog,
  messageWith,
  PHONE,
  scrolledUpBy,
  storedToken,
  WebUser,
  WIDE_DESKTOP,
} from './web-app-driver.js';

const enabled = chromiumAvailable();
const POLL = { timeout: 20_000, interval: 50 };

/** "line 007": numbered so that no line's text contains another's. */
function lines(from: number, to: number): string[] {
  return Array.from({ length: to - from + 1 }, (_, i) => `line ${String(from + i).padStart(3, '0')}`);
}

/** Where the message list stands as chat apps do: at the first unread, at the bottom, or where you left it. */
describe.runIf(enabled)('the message list scrolls like a chat app', () => {
  let server: TestServer;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    server = await startTestServer({ registrationsPerHour: 1000, sendsPerSecond: 2000, sendBurst: 2000 });
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
    it(`${width}: short chats sit by the composer; many unread open at the divider; pinned at the bottom; "↓ N new"; own sends jump down; older pages keep the place`, async () => {
      const bob = await WebUser.signUp(browser, base, uid('bob'), viewport);
      const alice = await WebUser.signUp(browser, base, uid('alice'));
      const aliceToken = await storedToken(alice.page);
      const fromAlice = (texts: string[]) => sendFromNode(server, aliceToken, bob.username, texts);
      const log = messageLog(bob.page);
      const jump = bob.page.locator('.jump-to-latest');

      // A short chat: its messages sit at the bottom, next to the composer.
      await fromAlice(lines(1, 3));
      await bob.open(alice.username);
      const lastShort = messageWith(bob.page, 'line 003');
      await expect.poll(() => inMessageView(bob.page, lastShort), POLL).toBe(true);
      const [logBox, lastBox] = await Promise.all([log.boundingBox(), lastShort.boundingBox()]);
      expect(logBox!.y + logBox!.height - (lastBox!.y + lastBox!.height)).toBeLessThan(40);
      await bob.screenshot(`scroll-short-chat-${width}`);

      // Away from the chat, 150 more arrive: it opens at the first unread, below the divider.
      await bob.page.goto(base);
      await bob.page.getByRole('button', { name: 'New conversation' }).waitFor();
      await fromAlice(lines(4, 153));
      await expect
        .poll(() => conversationItem(bob.page, alice.username).locator('.badge').textContent(), POLL)
        .toContain('99+');
      await bob.open(alice.username);
      const divider = bob.page.locator('.unread-divider');
      await expect.poll(() => inMessageView(bob.page, divider), POLL).toBe(true);
      await expect.poll(() => inMessageView(bob.page, messageWith(bob.page, 'line 004')), POLL).toBe(true);
      const [dividerBox, viewBox] = await Promise.all([divider.boundingBox(), log.boundingBox()]);
      expect(dividerBox!.y - viewBox!.y).toBeLessThan(viewBox!.height / 3);
      expect(await scrolledUpBy(bob.page)).toBeGreaterThan(1000);
      await expect.poll(() => jump.textContent(), POLL).toMatch(/^↓ \d+ new$/);
      await bob.screenshot(`scroll-unread-divider-${width}`);

      // "↓ N new" takes you to the bottom; while there, a new message stays in view.
      await jump.click();
      await expect.poll(() => inMessageView(bob.page, messageWith(bob.page, 'line 153')), POLL).toBe(true);
      await expect.poll(() => jump.count(), POLL).toBe(0);
      await fromAlice(['line 154']);
      await expect.poll(() => inMessageView(bob.page, messageWith(bob.page, 'line 154')), POLL).toBe(true);
      expect(await scrolledUpBy(bob.page)).toBeLessThan(8);

      // Scrolled up, new messages do not move the view; the button counts them.
      await log.evaluate((element) => element.scrollTo({ top: element.scrollHeight / 2 }));
      await expect.poll(() => jump.count(), POLL).toBe(1);
      const readingAt = await log.evaluate((element) => element.scrollTop);
      await fromAlice(lines(155, 157));
      await expect.poll(() => jump.textContent(), POLL).toBe('↓ 3 new');
      expect(Math.abs((await log.evaluate((element) => element.scrollTop)) - readingAt)).toBeLessThan(2);
      await bob.screenshot(`scroll-new-below-${width}`);

      // Your own send always takes you to the bottom.
      await bob.send('On my way');
      await expect.poll(() => inMessageView(bob.page, messageWith(bob.page, 'On my way')), POLL).toBe(true);
      await expect.poll(() => scrolledUpBy(bob.page), POLL).toBeLessThan(8);
      await expect.poll(() => jump.count(), POLL).toBe(0);

      // All read: a reload opens at the bottom; scrolling to the top loads an older page above
      // without moving the message you were looking at.
      await bob.page.goto(base);
      await bob.open(alice.username);
      await expect.poll(() => inMessageView(bob.page, messageWith(bob.page, 'On my way')), POLL).toBe(true);
      expect(await bob.page.locator('.unread-divider').count()).toBe(0);
      // Near the top (not yet near enough to load), then to the top, noting where a message
      // stands in the same task as the scroll, before the page it asks for can arrive.
      await log.evaluate((element) => element.scrollTo({ top: 200 }));
      const firstInView = () =>
        log.evaluate((element) => {
          const view = element.getBoundingClientRect();
          const texts = [...element.querySelectorAll('.message .bubble-text')];
          return texts.find((text) => text.getBoundingClientRect().top >= view.top)?.textContent ?? '';
        });
      await expect.poll(firstInView, POLL).toMatch(/^line/);
      const watched = messageWith(bob.page, await firstInView());
      const top = await watched.locator('.bubble-text').evaluate((text) => {
        text.closest('[role="log"]')!.scrollTop = 0;
        return { text: text.textContent ?? '', y: text.getBoundingClientRect().y };
      });
      const firstShown = bob.page.locator('.message .bubble-text').first();
      await expect.poll(() => firstShown.textContent(), POLL).not.toBe(top.text);
      await expect.poll(() => inMessageView(bob.page, watched), POLL).toBe(true);
      const after = await watched.locator('.bubble-text').boundingBox();
      expect(Math.abs(after!.y - top.y)).toBeLessThan(80);
      await bob.screenshot(`scroll-older-page-${width}`);
      await bob.close();
      await alice.close();
    }, 90_000);
  }
});
