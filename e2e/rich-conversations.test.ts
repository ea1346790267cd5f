import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { NatterClient, type OutboxEntry } from '../packages/client/src/index.js';
import type { WebSocketLike } from '../packages/client/src/socket.js';
import { startTestServer, type TestServer, uid } from '../packages/server/test/helpers/server.js';
import { chromiumAvailable, launchChromium } from './browser.js';
import {
  conversationItem,
  messageTexts,
  messageWith,
  PHONE,
  reactionsOf,
  storedToken,
  timelineLines,
  WebUser,
} from './web-app-driver.js';

const enabled = chromiumAvailable();
const POLL = { timeout: 30_000, interval: 50 };

/** Reactions, replies, mentions, pins and notification levels in the web app, against the real server. */
describe.runIf(enabled)('rich conversations in a real browser', () => {
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

  it('a group on two tabs: mentions badge and clear, reactions count on both tabs, a reply quotes and jumps, pins show to the other member', async () => {
    const bob = await WebUser.signUp(browser, base, uid('bob'));
    const alice = await WebUser.signUp(browser, base, uid('alice'));
    await alice.createGroup('Launch plan', [bob.username]);
    const groupId = await alice.openConversationId();
    await alice.send('Ship it on Friday?');
    // Alice looks at another conversation, and has a second tab (another device) on her list.
    await alice.startDirect(bob.username);
    const tab2 = await alice.openTab(base);
    const tabs = [alice.page, tab2];

    // Bob mentions Alice, picking her from the "@" suggestions.
    await bob.open('Launch plan');
    const input = bob.page.getByLabel('Message', { exact: true });
    await input.pressSequentially(`Hey @${alice.username.slice(0, 7)}`);
    const suggestions = bob.page.getByRole('listbox', { name: 'People to mention' });
    await expect
      .poll(() => suggestions.getByRole('option').locator('.mention-option-handle').allTextContents(), POLL)
      .toEqual([`@${alice.username}`]);
    await bob.screenshot('rich-mention-suggestions');
    await input.press('Enter');
    expect(await input.inputValue()).toBe(`Hey @${alice.username} `);
    await input.pressSequentially('can you check the build?');
    await input.press('Enter');
    const mentionText = `Hey @${alice.username} can you check the build?`;
    await expect.poll(() => messageTexts(bob.page), POLL).toContain(mentionText);

    // Alice's list shows "@" on both tabs, until she reads the conversation on one of them.
    for (const tab of tabs) {
      await conversationItem(tab, 'Launch plan').locator('.mention-badge').waitFor(POLL);
    }
    await alice.screenshot('rich-list-mention-badge');
    await alice.open('Launch plan');
    const mentioned = messageWith(alice.page, 'check the build');
    await expect.poll(() => mentioned.getAttribute('class'), POLL).toContain('mentions-me');
    expect(await mentioned.locator('.mention.me').textContent()).toBe(`@${alice.username}`);
    for (const tab of tabs) {
      await expect
        .poll(() => conversationItem(tab, 'Launch plan').locator('.mention-badge').count(), POLL)
        .toBe(0);
    }
    await alice.open('Launch plan', tab2);

    // Bob reacts to Alice's message: both her tabs count it; she adds hers and it is 2, "you reacted".
    await bob.react('Ship it on Friday?', '👍');
    for (const tab of tabs) {
      await expect.poll(() => reactionsOf(tab, 'Ship it on Friday?'), POLL).toEqual(['👍 1']);
    }
    await messageWith(alice.page, 'Ship it on Friday?').getByRole('button', { name: '👍 1' }).click();
    for (const tab of tabs) {
      await expect.poll(() => reactionsOf(tab, 'Ship it on Friday?'), POLL).toEqual(['👍 2, you reacted']);
    }
    await expect.poll(() => reactionsOf(bob.page, 'Ship it on Friday?'), POLL).toEqual(['👍 2, you reacted']);
    // Another emoji from the full picker.
    await messageWith(bob.page, 'Ship it on Friday?').hover();
    await messageWith(bob.page, 'Ship it on Friday?').getByRole('button', { name: 'Add reaction' }).click();
    await bob.page.getByRole('dialog', { name: 'Add reaction' }).waitFor(POLL);
    await bob.screenshot('rich-emoji-picker');
    await bob.page
      .getByRole('dialog', { name: 'Add reaction' })
      .getByRole('button', { name: 'React with 🚀' })
      .click();
    await expect
      .poll(() => reactionsOf(alice.page, 'Ship it on Friday?'), POLL)
      .toEqual(['👍 2, you reacted', '🚀 1']);

    // Bob replies to it: the composer says to whom, and the reply shows the quote on every screen.
    const parent = messageWith(bob.page, 'Ship it on Friday?');
    await parent.hover();
    await parent.getByRole('button', { name: 'Reply', exact: true }).click();
    await expect
      .poll(() => bob.page.locator('.composer-context').textContent(), POLL)
      .toBe(`Replying to ${alice.username}Ship it on Friday?`);
    await bob.screenshot('rich-replying');
    await bob.send('Friday works for me');
    for (const [page, sender] of [
      [bob.page, alice.username],
      [alice.page, 'You'],
      [tab2, 'You'],
    ] as const) {
      const quote = messageWith(page, 'Friday works').locator('.reply-quote');
      await expect.poll(() => quote.textContent(), POLL).toBe(`${sender}Ship it on Friday?`);
    }
    expect(await bob.page.locator('.composer-context').count()).toBe(0);

    // Alice (the owner) pins it: Bob sees the pin count in the header, the list, and the line in the timeline.
    const pinMenu = await alice.openMessageActions('Ship it on Friday?');
    await alice.screenshot('rich-message-menu');
    await pinMenu.getByRole('button', { name: 'Pin message' }).click();
    const pins = bob.page.getByRole('button', { name: 'Pinned messages (1)' });
    await pins.waitFor(POLL);
    await expect
      .poll(() => timelineLines(bob.page), POLL)
      .toContain(`${alice.username} pinned “Ship it on Friday?”`);
    await messageWith(bob.page, 'Ship it on Friday?').getByRole('img', { name: 'Pinned' }).waitFor(POLL);
    // A plain member cannot pin in a group.
    const bobMenu = await bob.openMessageActions('Ship it on Friday?');
    expect(await bobMenu.getByRole('button', { name: 'Pin message' }).count()).toBe(0);
    await bob.page.keyboard.press('Escape');
    await expect.poll(() => bobMenu.count(), POLL).toBe(0);

    // Far back in the history: the quote and the pinned list both jump to it (loading older pages).
    const parentSeq = Number(await messageWith(bob.page, 'Ship it on Friday?').getAttribute('data-seq'));
    // Alice's own filler (from her other device) is read: her chat opens at Bob's reply, the only
    // unread, with the parent 80 messages above it.
    await sendFromNode(await storedToken(alice.page), groupId, 80, 'filler');
    await sendFromNode(await storedToken(bob.page), groupId, 1, 'Back to this one', parentSeq);
    await alice.page.reload();
    await alice.open('Launch plan');
    const farReply = messageWith(alice.page, 'Back to this one');
    await farReply.locator('.reply-quote').waitFor(POLL);
    expect(await messageWith(alice.page, 'Ship it on Friday?').count()).toBe(0);
    await farReply.locator('.reply-quote').click();
    const jumped = messageWith(alice.page, 'Ship it on Friday?');
    await expect.poll(() => jumped.getAttribute('class'), POLL).toContain('highlighted');
    expect(await isInView(alice.page, 'Ship it on Friday?')).toBe(true);
    await alice.screenshot('rich-jumped-to-quote');

    await bob.page.reload();
    await bob.open('Launch plan');
    await bob.page.getByRole('button', { name: 'Pinned messages (1)' }).click();
    const panel = bob.page.getByRole('dialog', { name: 'Pinned messages' });
    await expect.poll(() => panel.locator('.pinned-item').count(), POLL).toBe(1);
    // Not in the loaded history after the reload, yet the panel fetches and shows it.
    expect(await messageWith(bob.page, 'Ship it on Friday?').count()).toBe(0);
    await expect
      .poll(() => panel.locator('.pinned-item').textContent(), POLL)
      .toBe(`${alice.username}Ship it on Friday?`);
    await bob.screenshot('rich-pinned-panel');
    await panel.locator('.pinned-item').click();
    await expect
      .poll(() => messageWith(bob.page, 'Ship it on Friday?').getAttribute('class'), POLL)
      .toContain('highlighted');
    expect(await isInView(bob.page, 'Ship it on Friday?')).toBe(true);
    // The reactions came back with the history page (folded by the server).
    expect(await reactionsOf(bob.page, 'Ship it on Friday?')).toEqual([
      '👍 2, you reacted',
      '🚀 1, you reacted',
    ]);
    expect(await messageWith(bob.page, 'check the build').locator('.mention').allTextContents()).toEqual([
      `@${alice.username}`,
    ]);
    await bob.screenshot('rich-desktop');

    // Notifications: Alice quiets the group to mentions only; her list says so.
    await alice.page.getByRole('button', { name: 'Conversation settings' }).click();
    const settings = alice.page.getByRole('dialog', { name: 'Conversation settings' });
    expect(await settings.getByRole('radio', { name: 'All' }).isChecked()).toBe(true);
    await alice.screenshot('rich-notification-menu');
    await settings.getByRole('radio', { name: 'Mentions only' }).click();
    await conversationItem(alice.page, 'Launch plan')
      .getByRole('img', { name: 'Mentions only' })
      .waitFor(POLL);
    await alice.page.getByRole('button', { name: 'Conversation settings' }).click();
    expect(await settings.getByRole('radio', { name: 'Mentions only' }).isChecked()).toBe(true);
    await alice.page.keyboard.press('Escape');
    await alice.screenshot('rich-group-desktop');

    // Deleting the message takes its reactions and its pin away, and its replies quote "Deleted message".
    await (await alice.openMessageActions('Ship it on Friday?'))
      .getByRole('button', { name: 'Delete message' })
      .click();
    await alice.page.getByRole('alertdialog').getByRole('button', { name: 'Delete', exact: true }).click();
    for (const page of [alice.page, bob.page]) {
      await expect
        .poll(() => messageWith(page, 'Friday works').locator('.reply-quote').textContent(), POLL)
        .toBe(`${page === alice.page ? 'You' : alice.username}Deleted message`);
      await expect.poll(() => page.getByRole('button', { name: /^Pinned messages/ }).count(), POLL).toBe(0);
      expect(await page.locator('.reaction-chip').count()).toBe(0);
    }
    await bob.close();
    await alice.close();
  }, 240_000);

  it('on a phone, a long-press opens the action sheet: react, reply and pin from it', async () => {
    const bob = await WebUser.signUp(browser, base, uid('bob'), PHONE);
    const alice = await WebUser.signUp(browser, base, uid('alice'));
    await alice.startDirect(bob.username);
    await alice.send('Dinner at 8?');
    await alice.send('🍕🍕');

    await bob.open(alice.username);
    await expect.poll(() => messageTexts(bob.page), POLL).toEqual(['Dinner at 8?', '🍕🍕']);
    const sheet = await bob.longPress('Dinner at 8?');
    await sheet.waitFor(POLL);
    await bob.screenshot('rich-phone-sheet');
    await sheet.getByRole('button', { name: 'React with ❤️' }).click();
    await expect.poll(() => sheet.count(), POLL).toBe(0);
    await expect.poll(() => reactionsOf(bob.page, 'Dinner at 8?'), POLL).toEqual(['❤️ 1, you reacted']);
    await expect.poll(() => reactionsOf(alice.page, 'Dinner at 8?'), POLL).toEqual(['❤️ 1']);

    // The "more" affordance (a tap on the message shows it) opens the same sheet: reply from it.
    const replySheet = await bob.openMessageActions('Dinner at 8?');
    await replySheet.getByRole('button', { name: 'Reply', exact: true }).click();
    await bob.page.locator('.composer-context').waitFor(POLL);
    await bob.screenshot('rich-phone-replying');
    await bob.send('Yes! See you there');
    await expect
      .poll(() => messageWith(alice.page, 'See you there').locator('.reply-quote').textContent(), POLL)
      .toBe('YouDinner at 8?');

    // Either person pins in a 1:1.
    await (await bob.longPress('Dinner at 8?')).getByRole('button', { name: 'Pin message' }).click();
    await alice.page.getByRole('button', { name: 'Pinned messages (1)' }).waitFor(POLL);
    await bob.page.getByRole('button', { name: 'Pinned messages (1)' }).waitFor(POLL);
    await alice.react('🍕🍕', '😂');
    await expect.poll(() => reactionsOf(bob.page, '🍕🍕'), POLL).toEqual(['😂 1']);
    await bob.screenshot('rich-phone');
    await alice.screenshot('rich-direct-desktop');

    // A group's header on a phone keeps room for its name: members and notifications are in its menu.
    await alice.createGroup('Dinner club', [bob.username]);
    await alice.send('Who brings dessert?');
    await bob.page.getByRole('button', { name: 'Back to conversations' }).click();
    await bob.open('Dinner club');
    await expect.poll(() => messageTexts(bob.page), POLL).toEqual(['Who brings dessert?']);
    // "@" offers Alice, @all and @here; the arrows and Tab pick one.
    const input = bob.page.getByLabel('Message', { exact: true });
    await input.pressSequentially('@');
    const options = bob.page.getByRole('listbox', { name: 'People to mention' }).getByRole('option');
    await expect
      .poll(() => options.locator('.mention-option-handle').allTextContents(), POLL)
      .toEqual([`@${alice.username}`, '@all', '@here']);
    await input.press('ArrowDown');
    await input.press('ArrowDown');
    await bob.screenshot('rich-phone-mention');
    await input.press('Tab');
    expect(await input.inputValue()).toBe('@here ');
    await input.pressSequentially('dessert, anyone?');
    await input.press('Enter');
    await expect
      .poll(() => messageWith(alice.page, 'dessert, anyone?').getAttribute('class'), POLL)
      .toContain('mentions-me');
    await bob.page.getByRole('button', { name: 'Conversation settings' }).click();
    const settings = bob.page.getByRole('dialog', { name: 'Conversation settings' });
    await settings.getByRole('radio', { name: 'None' }).waitFor(POLL);
    await bob.screenshot('rich-phone-settings');
    await settings.getByRole('button', { name: 'Members' }).click();
    await bob.page.getByRole('region', { name: 'Members' }).waitFor(POLL);
    await bob.close();
    await alice.close();
  }, 150_000);

  /** Whether the message with this text is inside the visible part of the message list. */
  async function isInView(page: Page, text: string): Promise<boolean> {
    const list = await page.getByRole('log', { name: 'Messages' }).boundingBox();
    const message = await messageWith(page, text).locator('.bubble').boundingBox();
    return (
      list !== null &&
      message !== null &&
      message.y >= list.y &&
      message.y + message.height <= list.y + list.height
    );
  }

  /** Sends `count` messages ("label 1", ...; just `label` when one) to a conversation as a Node.js bot on the same account. */
  async function sendFromNode(
    token: string,
    conversationId: string,
    count: number,
    label: string,
    replyTo?: number,
  ): Promise<void> {
    const client = new NatterClient({
      url: server.wsUrl,
      token,
      webSocket: (url) => new WebSocket(url, { origin: base }) as unknown as WebSocketLike,
    });
    let acked = 0;
    client.on('outbox', (entry: OutboxEntry) => {
      if (entry.state === 'sent') acked += 1;
    });
    await client.connect();
    for (let i = 1; i <= count; i++) {
      await client.send(conversationId, count === 1 ? label : `${label} ${i}`, replyTo ? { replyTo } : {});
    }
    await expect.poll(() => acked, POLL).toBe(count);
    client.close();
  }
});
