import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, uid } from '../packages/server/test/helpers/server.js';
import { chromiumAvailable, launchChromium } from './browser.js';
import {
  conversationItem,
  messageTexts,
  PHONE,
  statusOf,
  timelineLines,
  WebUser,
  WIDE_DESKTOP,
} from './web-app-driver.js';

const enabled = chromiumAvailable();
const POLL = { timeout: 15_000, interval: 50 };

function header(page: Page) {
  return page.locator('.conversation-status').textContent();
}

/** The names listed under one heading of the open "Message info" ("Read by", "Delivered to", …). */
function receiptNames(page: Page, section: string): Promise<string[]> {
  return page
    .getByRole('dialog', { name: 'Message info' })
    .getByRole('region', { name: section })
    .locator('.receipt-name')
    .allTextContents();
}

async function confirmIn(page: Page, button: string): Promise<void> {
  await page.getByRole('alertdialog').getByRole('button', { name: button, exact: true }).click();
}

/**
 * Groups (issue 10 item 9): the member count and the membership lines follow changes live, "Message
 * info" says who has read a message (desktop menu, phone long-press), the tick turns read when every
 * other current member has read it, removing and leaving ask first, and a group you left is marked.
 */
describe.runIf(enabled)('groups in a real browser', () => {
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

  it('live member count and lines, Message info on desktop and phone, confirmed remove and leave, a left group greyed', async () => {
    const bob = await WebUser.signUp(browser, base, uid('bob'), PHONE);
    const carol = await WebUser.signUp(browser, base, uid('carol'));
    const dan = await WebUser.signUp(browser, base, uid('dan'));
    const alice = await WebUser.signUp(browser, base, uid('alice'), WIDE_DESKTOP);
    await alice.createGroup('Weekend trip', [bob.username, carol.username]);
    await alice.send('Who is in for Saturday?');
    await carol.open('Weekend trip');
    await expect.poll(() => header(carol.page), POLL).toBe('3 members');

    // Alice adds Dan: the count and the line change at once on Carol's open screen too.
    await alice.page.getByRole('button', { name: 'Members' }).click();
    await alice.page.getByLabel('Username to add').fill(dan.username);
    await alice.page.getByRole('button', { name: 'Add', exact: true }).click();
    await expect.poll(() => header(alice.page), POLL).toBe('4 members');
    await expect.poll(() => header(carol.page), POLL).toBe('4 members');
    await expect
      .poll(() => timelineLines(carol.page), POLL)
      .toContain(`${alice.username} added ${dan.username}`);
    await alice.page.getByRole('button', { name: 'Close members' }).click();

    // A message after Dan joined: Carol has it open (read), Bob and Dan have it on a device only.
    await alice.send('Dan is coming too');
    await expect.poll(() => messageTexts(carol.page), POLL).toContain('Dan is coming too');
    await expect
      .poll(() => statusOf(alice.page, 'Dan is coming too').getAttribute('data-status'), POLL)
      .toBe('delivered');
    const menu = await alice.openMessageActions('Dan is coming too');
    await menu.getByRole('button', { name: 'Message info' }).click();
    await expect.poll(() => receiptNames(alice.page, 'Read by'), POLL).toEqual([carol.username]);
    expect((await receiptNames(alice.page, 'Delivered to')).sort()).toEqual(
      [bob.username, dan.username].sort(),
    );
    await alice.screenshot('groups-message-info-desktop');

    // The sheet follows live: once Bob and Dan read it, all three are under "Read by" and the tick is read.
    await bob.open('Weekend trip');
    await dan.open('Weekend trip');
    await expect
      .poll(async () => (await receiptNames(alice.page, 'Read by')).sort(), POLL)
      .toEqual([bob.username, carol.username, dan.username].sort());
    await alice.page.keyboard.press('Escape');
    await expect
      .poll(() => statusOf(alice.page, 'Dan is coming too').getAttribute('data-status'), POLL)
      .toBe('read');

    // On a phone: long-press your message, "Message info" opens as a sheet.
    await bob.send('Count me in');
    await expect
      .poll(() => statusOf(bob.page, 'Count me in').getAttribute('data-status'), POLL)
      .not.toBe('sending');
    const sheet = await bob.longPress('Count me in');
    await sheet.getByRole('button', { name: 'Message info' }).click();
    await expect.poll(() => receiptNames(bob.page, 'Read by'), POLL).toContain(alice.username);
    await bob.screenshot('groups-message-info-phone');
    await bob.page.keyboard.press('Escape');

    // Removing asks first; Carol's header and timeline follow.
    await alice.page.getByRole('button', { name: 'Members' }).click();
    await alice.page.getByRole('button', { name: `Remove ${dan.username}` }).click();
    await alice.screenshot('groups-confirm-remove');
    await confirmIn(alice.page, 'Remove');
    await expect.poll(() => header(carol.page), POLL).toBe('3 members');
    await expect
      .poll(() => timelineLines(carol.page), POLL)
      .toContain(`${alice.username} removed ${dan.username}`);

    // Carol leaves (asked first): her list marks the group; Alice sees the line and the count.
    await carol.page.getByRole('button', { name: 'Members' }).click();
    await carol.page.getByRole('button', { name: 'Leave group' }).click();
    await confirmIn(carol.page, 'Leave group');
    await carol.page.getByText('You are no longer a member of this conversation.').waitFor(POLL);
    const row = conversationItem(carol.page, 'Weekend trip');
    await expect.poll(() => row.getAttribute('class'), POLL).toContain('left');
    expect(await row.locator('.conversation-preview').textContent()).toBe('You are no longer a member');
    // A former member has no member list to manage any more.
    expect(await carol.page.getByRole('region', { name: 'Members' }).count()).toBe(0);
    expect(await carol.page.getByRole('button', { name: 'Members' }).count()).toBe(0);
    await carol.screenshot('groups-left-list');
    await expect.poll(() => header(alice.page), POLL).toBe('2 members');
    await expect
      .poll(() => timelineLines(alice.page), POLL)
      .toEqual([
        'You created the group “Weekend trip”',
        'Who is in for Saturday?',
        `You added ${dan.username}`,
        'Dan is coming too',
        'Count me in',
        `You removed ${dan.username}`,
        `${carol.username} left`,
      ]);
    await alice.screenshot('groups-membership-lines');

    // Carol hides the group she left (asked first): it leaves her list.
    await carol.page.getByRole('button', { name: 'Hide', exact: true }).click();
    await carol.screenshot('groups-confirm-hide');
    await confirmIn(carol.page, 'Hide');
    await expect.poll(() => row.count(), POLL).toBe(0);
    await carol.screenshot('groups-hidden');
    for (const user of [alice, bob, carol, dan]) await user.close();
  }, 120_000);
});
