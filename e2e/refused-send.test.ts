import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestServer, type TestServer, uid } from '../packages/server/test/helpers/server.js';
import { chromiumAvailable, launchChromium } from './browser.js';
import {
  conversationItem,
  messageTexts,
  messageWith,
  PHONE,
  storedToken,
  WebUser,
  WIDE_DESKTOP,
} from './web-app-driver.js';

const enabled = chromiumAvailable();
const POLL = { timeout: 15_000, interval: 50 };
/** The server's limit here, in UTF-8 bytes: 101 letters é (202 bytes) are over it, though 101 characters. */
const MAX_BODY_BYTES = 200;
const TOO_LONG = 'é'.repeat(101);
const ALSO_TOO_LONG = 'ü'.repeat(120);

function composer(page: Page) {
  return page.getByLabel('Message', { exact: true });
}

function failed(page: Page) {
  return page.locator('.message.mine[data-status="failed"] .bubble-text').allTextContents();
}

/** The user id the app stored for this browser profile. */
async function storedUserId(page: Page): Promise<string> {
  const stored = await page.evaluate(() =>
    (globalThis as unknown as { localStorage: { getItem(key: string): string | null } }).localStorage.getItem(
      'natter.session',
    ),
  );
  return (JSON.parse(stored ?? '{}') as { userId: string }).userId;
}

/** Cuts the network and reloads: the app comes back from the service worker, not yet connected. */
async function reloadOffline(user: WebUser): Promise<void> {
  await user.page.waitForFunction('navigator.serviceWorker.controller !== null', undefined, {
    timeout: 10_000,
  });
  // The chat header says so at every width (the sidebar's banner is hidden on a phone).
  const offline = user.page.locator('.conversation-status[data-connection="offline"]');
  await user.context.setOffline(true);
  await offline.waitFor();
  await user.page.reload();
  await offline.waitFor();
}

/** A message over the limit is counted, blocked, and never lost when the server refuses a send (issue 10 item 6). */
describe.runIf(enabled)('messages over the limit and sends the server refuses', () => {
  let server: TestServer;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    server = await startTestServer({ registrationsPerHour: 1000, maxBodyBytes: MAX_BODY_BYTES });
    base = server.httpUrl;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  for (const [width, viewport] of [
    ['phone', PHONE],
    ['desktop', WIDE_DESKTOP],
  ] as const) {
    it(`${width}: the composer counts near the limit and blocks over it; a refused send stays failed across reloads, Edit puts it back, Delete drops it`, async () => {
      const alice = await WebUser.signUp(browser, base, uid('alice'), WIDE_DESKTOP);
      const bob = await WebUser.signUp(browser, base, uid('bob'), viewport);
      await bob.startDirect(alice.username);
      await bob.send('Hi Alice');

      // Near the limit the composer counts as the server does; over it, sending is blocked and says why.
      const count = bob.page.locator('.composer-count');
      await composer(bob.page).fill('a'.repeat(185));
      await expect.poll(() => count.textContent(), POLL).toBe('185 / 200');
      await composer(bob.page).fill(TOO_LONG);
      await expect.poll(() => count.textContent(), POLL).toBe('202 / 200');
      expect(await bob.page.getByRole('button', { name: 'Send' }).isDisabled()).toBe(true);
      expect(await bob.page.locator('.composer-too-long').textContent()).toContain('shorten it by 2');
      await composer(bob.page).press('Enter');
      await bob.screenshot(`composer-over-limit-${width}`);
      expect(await messageTexts(bob.page)).toEqual(['Hi Alice']);

      // Written where the limit is not known yet (a page loaded offline), the SDK sends it; it is
      // refused once connected, and both stay as failed, with what to do about them.
      await composer(bob.page).fill('');
      await reloadOffline(bob);
      await bob.send(TOO_LONG);
      await bob.send(ALSO_TOO_LONG);
      await expect.poll(() => bob.page.locator('.message.mine[data-status="sending"]').count(), POLL).toBe(2);
      await bob.context.setOffline(false);
      await expect.poll(() => failed(bob.page), POLL).toEqual([TOO_LONG, ALSO_TOO_LONG]);
      const refused = messageWith(bob.page, TOO_LONG);
      expect(await refused.locator('.failed-send-reason').textContent()).toBe('Not sent: Too long to send');
      await bob.screenshot(`refused-send-${width}`);

      // Kept across a reload (the outbox is in IndexedDB), and never sent.
      await bob.page.reload();
      await expect.poll(() => failed(bob.page), POLL).toEqual([TOO_LONG, ALSO_TOO_LONG]);
      expect(await messageTexts(alice.page)).toEqual([]);

      // Delete drops it, for good.
      await messageWith(bob.page, ALSO_TOO_LONG).getByRole('button', { name: 'Delete' }).click();
      await expect.poll(() => failed(bob.page), POLL).toEqual([TOO_LONG]);
      await bob.page.reload();
      await expect.poll(() => failed(bob.page), POLL).toEqual([TOO_LONG]);

      // Edit puts the text back in the composer (over the limit, so blocked until shortened).
      await messageWith(bob.page, TOO_LONG).getByRole('button', { name: 'Edit' }).click();
      await expect.poll(() => composer(bob.page).inputValue(), POLL).toBe(TOO_LONG);
      await expect.poll(() => failed(bob.page), POLL).toEqual([]);
      await expect.poll(() => count.textContent(), POLL).toBe('202 / 200');
      await bob.screenshot(`refused-send-edited-${width}`);
      await composer(bob.page).press('End');
      for (let i = 0; i < 2; i++) await composer(bob.page).press('Backspace');
      await composer(bob.page).press('Enter');
      await alice.open(bob.username);
      await expect.poll(() => messageTexts(alice.page), POLL).toEqual(['Hi Alice', 'é'.repeat(99)]);
      for (const user of [alice, bob]) await user.close();
    }, 90_000);
  }

  it('Retry sends a refused message again: refused while removed from the group, sent once added back', async () => {
    const alice = await WebUser.signUp(browser, base, uid('alice'), WIDE_DESKTOP);
    const bob = await WebUser.signUp(browser, base, uid('bob'), WIDE_DESKTOP);
    await alice.createGroup('Plans', [bob.username]);
    const group = await alice.openConversationId();
    const [aliceToken, bobId] = [await storedToken(alice.page), await storedUserId(bob.page)];
    await conversationItem(bob.page, 'Plans').waitFor();
    await bob.open('Plans');

    // Removed while offline, Bob writes on; back online, the server refuses it (not a member).
    await bob.context.setOffline(true);
    await bob.page.locator('.banner.offline').waitFor();
    const removed = await api(base, 'DELETE', `/v1/conversations/${group}/members/${bobId}`, {
      token: aliceToken,
    });
    expect(removed.status).toBeLessThan(300);
    await bob.send('Count me in');
    await bob.context.setOffline(false);
    await expect.poll(() => failed(bob.page), POLL).toEqual(['Count me in']);
    expect(await messageWith(bob.page, 'Count me in').locator('.failed-send-reason').textContent()).toBe(
      'Not sent: You are not a member here',
    );
    // No composer while removed, so no Edit that would move the text nowhere: Copy text keeps it.
    const refused = messageWith(bob.page, 'Count me in');
    expect(await refused.getByRole('button', { name: 'Edit' }).count()).toBe(0);
    await refused.getByRole('button', { name: 'Copy text' }).waitFor();
    await bob.screenshot('refused-send-not-member-desktop');

    // Added back, Retry sends it (once).
    const added = await api(base, 'POST', `/v1/conversations/${group}/members`, {
      token: aliceToken,
      body: { user_id: bobId },
    });
    expect(added.status).toBeLessThan(300);
    await composer(bob.page).waitFor();
    await refused.getByRole('button', { name: 'Edit' }).waitFor();
    await messageWith(bob.page, 'Count me in').getByRole('button', { name: 'Retry' }).click();
    await expect.poll(() => failed(bob.page), POLL).toEqual([]);
    await expect
      .poll(() => messageWith(bob.page, 'Count me in').getAttribute('data-status'), POLL)
      .not.toBe('sending');
    await expect.poll(() => messageTexts(alice.page), POLL).toEqual(['Count me in']);
    await bob.screenshot('refused-send-retried-desktop');
    for (const user of [alice, bob]) await user.close();
  }, 90_000);
});
