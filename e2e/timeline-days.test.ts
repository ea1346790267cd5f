import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Clock, systemClock } from '../packages/server/src/clock.js';
import { startTestServer, type TestServer, uid } from '../packages/server/test/helpers/server.js';
import { chromiumAvailable, launchChromium } from './browser.js';
import { sendFromNode } from './node-sender.js';
import { messageWith, PHONE, storedToken, WebUser, WIDE_DESKTOP } from './web-app-driver.js';

const enabled = chromiumAvailable();
const POLL = { timeout: 15_000, interval: 50 };

/** Each message's text and its place in its run: "Today one [start]", "Today three [end]". */
function runsOf(page: Page): Promise<string[]> {
  return page.locator('.message').evaluateAll((messages) =>
    messages.map((message) => {
      const marks = ['run-start', 'run-end'].filter((c) => message.classList.contains(c));
      const text = message.querySelector('.bubble-text')?.textContent ?? '';
      return `${text} [${marks.map((m) => m.slice(4)).join(',')}]`;
    }),
  );
}

/**
 * Runs and day separators (issue 10 item 8), over a history whose days are real: the server's
 * clock is injected and set to last year, three days ago, yesterday and today while it is seeded.
 */
describe.runIf(enabled)('runs of messages and day separators in a real browser', () => {
  let server: TestServer;
  let browser: Browser;
  let base: string;
  /** The server's time while seeding; null: the real time. */
  let seedingAt: number | null = null;
  const clock: Clock = { ...systemClock, now: () => seedingAt ?? Date.now() };

  beforeAll(async () => {
    server = await startTestServer({ registrationsPerHour: 1000 }, undefined, { clock });
    base = server.httpUrl;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  it('Today, Yesterday, a weekday, a date with its year; one sender’s messages within 5 minutes read as one block', async () => {
    const alice = await WebUser.signUp(browser, base, uid('alice'), WIDE_DESKTOP);
    const bob = await WebUser.signUp(browser, base, uid('bob'), PHONE);
    const [aliceToken, bobToken] = [await storedToken(alice.page), await storedToken(bob.page)];
    const now = new Date();
    const day = (daysAgo: number, hour: number, minute: number) =>
      new Date(now.getFullYear(), now.getMonth(), now.getDate() - daysAgo, hour, minute).getTime();
    const lastYear = new Date(now.getFullYear() - 1, 5, 15, 10, 0).getTime();
    const seed = async (at: number, token: string, peer: string, texts: string[]) => {
      seedingAt = at;
      await sendFromNode(server, token, peer, texts);
      seedingAt = null;
    };
    await seed(lastYear, bobToken, alice.username, ['A year ago']);
    await seed(lastYear + 60_000, aliceToken, bob.username, ['Indeed']);
    await seed(day(3, 10, 0), bobToken, alice.username, ['Three days ago, one']);
    await seed(day(3, 10, 1), bobToken, alice.username, ['Three days ago, two']);
    await seed(day(3, 10, 2), aliceToken, bob.username, ['Got it']);
    await seed(day(1, 18, 0), aliceToken, bob.username, ['Yesterday from me', 'And another']);
    // Today just after midnight: still "Today" whenever the test runs (a later time this day is too).
    await seed(day(0, 0, 30), bobToken, alice.username, ['Today one']);
    await seed(day(0, 0, 31), bobToken, alice.username, ['Today two']);
    await seed(day(0, 0, 33), bobToken, alice.username, ['Today three']);
    await seed(day(0, 0, 45), bobToken, alice.username, ['Much later']);

    await alice.open(bob.username);
    const separators = alice.page.locator('.day-separator');
    const date = (at: number, options: Intl.DateTimeFormatOptions) =>
      alice.page.evaluate(([at, options]) => new Intl.DateTimeFormat(undefined, options).format(at), [
        at,
        options,
      ] as const);
    const expected = [
      await date(lastYear, { day: 'numeric', month: 'long', year: 'numeric' }),
      await date(day(3, 10, 0), { weekday: 'long' }),
      'Yesterday',
      'Today',
    ];
    expect(expected[0]).toContain(String(now.getFullYear() - 1));
    await expect.poll(() => separators.allTextContents(), POLL).toEqual(expected);
    // The same rules for her bubbles and his (the divider above the first unread also ends a run).
    await expect
      .poll(() => runsOf(alice.page), POLL)
      .toEqual([
        'A year ago [start,end]',
        'Indeed [start,end]',
        'Three days ago, one [start]',
        'Three days ago, two [end]',
        'Got it [start,end]',
        'Yesterday from me [start]',
        'And another [end]',
        'Today one [start]',
        'Today two []',
        'Today three [end]',
        'Much later [start,end]',
      ]);
    // The time shows once per run, on its last message; inside a run, on hover (in the toolbar).
    expect(await messageWith(alice.page, 'Today one').locator('.meta time').count()).toBe(0);
    expect(await messageWith(alice.page, 'Today three').locator('.meta time').count()).toBe(1);
    await messageWith(alice.page, 'Today two').hover();
    await expect
      .poll(() => messageWith(alice.page, 'Today two').locator('.toolbar-time').isVisible(), POLL)
      .toBe(true);
    // Tighter inside a run than between runs.
    const gapAbove = async (text: string, above: string) => {
      const [a, b] = await Promise.all([
        messageWith(alice.page, above).locator('.bubble').boundingBox(),
        messageWith(alice.page, text).locator('.bubble').boundingBox(),
      ]);
      return b!.y - (a!.y + a!.height);
    };
    const inside = await gapAbove('Today two', 'Today one');
    const between = await gapAbove('Much later', 'Today three');
    expect(inside).toBeLessThan(between);
    expect(inside).toBeLessThanOrEqual(4);
    await alice.page.mouse.move(0, 0);
    await alice.screenshot('days-and-runs-desktop');

    await bob.open(alice.username);
    await expect.poll(() => bob.page.locator('.day-separator').allTextContents(), POLL).toEqual(expected);
    await bob.screenshot('days-and-runs-phone');
    await alice.close();
    await bob.close();
  }, 90_000);
});
