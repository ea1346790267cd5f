import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, uid } from '../packages/server/test/helpers/server.js';
import { chromiumAvailable, launchChromium } from './browser.js';
import {
  conversationItem,
  messageTexts,
  PHONE,
  pickPerson,
  timelineLines,
  WebUser,
  WIDE_DESKTOP,
} from './web-app-driver.js';

const enabled = chromiumAvailable();
const POLL = { timeout: 15_000, interval: 50 };

function header(page: Page) {
  return page.locator('.conversation-status').textContent();
}

/** Opens a conversation from the list by its title, whether or not it has a composer. */
async function openByTitle(page: Page, title: string): Promise<void> {
  await conversationItem(page, title).click();
  await page.locator('.conversation-header h2', { hasText: title }).waitFor();
}

/**
 * Channels (issue 12): an admin creates an announcements channel from the new-conversation dialog;
 * the list and the header mark it as a channel; a plain member reads posts live with a read-only
 * notice in place of the composer, until an admin opens posting to everyone.
 */
describe.runIf(enabled)('channels in a real browser', () => {
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

  it('creates a broadcast channel, shows it as one, keeps plain members read-only until posting opens', async () => {
    const bob = await WebUser.signUp(browser, base, uid('bob'));
    const carol = await WebUser.signUp(browser, base, uid('carol'), PHONE);
    const alice = await WebUser.signUp(browser, base, uid('alice'), WIDE_DESKTOP);

    await alice.page.getByRole('button', { name: 'New conversation' }).click();
    await alice.page.getByRole('tab', { name: 'Channel' }).click();
    await alice.page.getByLabel('Channel name').fill('Release notes');
    await alice.page.getByLabel('Only admins can post (announcements)').check();
    for (const user of [bob, carol]) await pickPerson(alice.page, 'Members', user.username);
    await alice.screenshot('channel-create-dialog');
    await alice.page.getByRole('button', { name: /^Create channel/ }).click();
    await alice.page.getByLabel('Message', { exact: true }).waitFor();
    await expect.poll(() => header(alice.page), POLL).toBe('Channel · 3 members · admins post');
    await alice.send('Version 2.0 ships today: faster sync, channels, and a new look.');

    // Bob's list marks it as a channel; opening it, he reads the post but has no composer.
    await expect.poll(() => conversationItem(bob.page, 'Release notes').count(), POLL).toBe(1);
    await expect(
      conversationItem(bob.page, 'Release notes').getByRole('img', { name: 'Channel' }).count(),
    ).resolves.toBe(1);
    await openByTitle(bob.page, 'Release notes');
    await expect
      .poll(() => messageTexts(bob.page), POLL)
      .toContain('Version 2.0 ships today: faster sync, channels, and a new look.');
    const notice = bob.page.getByText('Only admins can post in this channel.');
    await expect.poll(() => notice.count(), POLL).toBe(1);
    await expect(bob.page.getByLabel('Message', { exact: true }).count()).resolves.toBe(0);
    await expect(
      bob.page.locator('.conversation-header').getByRole('img', { name: 'Channel' }).count(),
    ).resolves.toBe(1);

    // Carol has it open on her phone: the next post arrives live.
    await carol.page.getByRole('button', { name: /Release notes/ }).click();
    await carol.page.locator('.conversation-header h2', { hasText: 'Release notes' }).waitFor();
    await alice.send('Upgrade notes are in the docs.');
    await expect.poll(() => messageTexts(carol.page), POLL).toContain('Upgrade notes are in the docs.');
    await expect.poll(() => messageTexts(bob.page), POLL).toContain('Upgrade notes are in the docs.');
    await bob.screenshot('channel-read-only-member');
    await carol.screenshot('channel-phone');

    // Alice opens posting to everyone from the members panel: Bob's composer appears, with the line.
    await alice.page.getByRole('button', { name: 'Members' }).click();
    await alice.page.getByText('listed here are its admins and you').waitFor();
    await alice.screenshot('channel-members-panel');
    await alice.page.getByLabel('Only admins can post', { exact: true }).uncheck();
    await expect
      .poll(() => timelineLines(bob.page), POLL)
      .toContain(`${alice.username} allowed everyone to post`);
    await bob.page.getByLabel('Message', { exact: true }).waitFor();
    await bob.send('Thanks, looks great!');
    await expect.poll(() => messageTexts(alice.page), POLL).toContain('Thanks, looks great!');
    await expect.poll(() => header(alice.page), POLL).toBe('Channel · 3 members');
    await alice.screenshot('channel-admin');

    for (const user of [alice, bob, carol]) await user.context.close();
  }, 120_000);
});
