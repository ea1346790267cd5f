import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { NatterClient, type OutboxEntry } from '../packages/client/src/index.js';
import type { WebSocketLike } from '../packages/client/src/socket.js';
import { startTestServer, type TestServer, uid } from '../packages/server/test/helpers/server.js';
import { chromiumAvailable, launchChromium } from './browser.js';
import { conversationItem, messageWith, PHONE, storedToken, WebUser } from './web-app-driver.js';

const enabled = chromiumAvailable();
const POLL = { timeout: 15_000, interval: 50 };

/** The open thread's panel. */
function threadPanel(page: Page) {
  return page.getByRole('region', { name: 'Thread' });
}

/** The conversation's own message list (a thread's panel beside it shows messages too). */
function timeline(page: Page) {
  return page.getByRole('log', { name: 'Messages', exact: true });
}

function timelineTexts(page: Page): Promise<string[]> {
  return timeline(page).locator('.message .bubble-text').allTextContents();
}

/** The replies shown in the open thread, below the message it started from. */
function threadReplyTexts(page: Page): Promise<string[]> {
  return threadPanel(page).locator('.thread-row:not(.thread-root) .bubble-text').allTextContents();
}

/** The thread chip under the message with this text in the conversation's list. */
function chipOf(page: Page, text: string) {
  return timeline(page)
    .locator('.message', { has: page.locator('.bubble-text', { hasText: text }) })
    .locator('.thread-chip');
}

async function chipState(page: Page, text: string): Promise<string> {
  const chip = chipOf(page, text);
  if ((await chip.count()) === 0) return 'none';
  const [count, unread] = await Promise.all([
    chip.locator('.thread-count').textContent(),
    chip.evaluate((element) => element.classList.contains('unread')),
  ]);
  return `${count}${unread ? ' unread' : ''}`;
}

async function replyInThread(page: Page, text: string): Promise<void> {
  const input = threadPanel(page).getByLabel('Reply in thread');
  await input.fill(text);
  await input.press('Enter');
}

/** Threads in the web app against the real server: the chip, the panel, unread on every device. */
describe.runIf(enabled)('threads in a real browser', () => {
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

  it('Bob answers in a thread: Alice sees the replies and the unread mark on both tabs, reads and answers, and it clears everywhere', async () => {
    const bob = await WebUser.signUp(browser, base, uid('bob'));
    const alice = await WebUser.signUp(browser, base, uid('alice'));
    await alice.createGroup('Weekend trip', [bob.username]);
    await alice.send('Where should we go this weekend?');
    await alice.send('Train tickets are cheap on Saturday');
    const tab2 = await alice.openTab(base);
    await alice.open('Weekend trip', tab2);
    const aliceTabs = [alice.page, tab2];
    const mainTexts = ['Where should we go this weekend?', 'Train tickets are cheap on Saturday'];

    // Bob starts a thread on Alice's question from the message's actions and answers twice.
    await bob.open('Weekend trip');
    await expect.poll(() => timelineTexts(bob.page), POLL).toEqual(mainTexts);
    const actions = await bob.openMessageActions('Where should we go');
    await actions.getByRole('button', { name: 'Reply in thread' }).click();
    const bobPanel = threadPanel(bob.page);
    await bobPanel.waitFor(POLL);
    expect(await bobPanel.locator('.thread-header').textContent()).toContain('ThreadWeekend trip');
    expect(await bobPanel.locator('.thread-root .bubble-text').textContent()).toBe(
      'Where should we go this weekend?',
    );
    await replyInThread(bob.page, 'The mountains!');
    await replyInThread(bob.page, 'Or the lake, if it is warm');
    await expect
      .poll(() => threadReplyTexts(bob.page), POLL)
      .toEqual(['The mountains!', 'Or the lake, if it is warm']);
    await expect.poll(() => chipState(bob.page, 'Where should we go'), POLL).toBe('2 replies');

    // Both of Alice's tabs: "2 replies" marked unread under her message, a thread mark in the list,
    // and the replies are not in the timeline.
    for (const tab of aliceTabs) {
      await expect.poll(() => chipState(tab, 'Where should we go'), POLL).toBe('2 replies unread');
      const mark = conversationItem(tab, 'Weekend trip').locator('.thread-badge');
      await expect.poll(() => mark.textContent(), POLL).toBe('2 unread in threads');
      expect(await timelineTexts(tab)).toEqual(mainTexts);
    }
    expect(await chipOf(alice.page, 'Where should we go').textContent()).toMatch(
      /2 replies, 2 unreadLast reply just now/,
    );
    await alice.screenshot('thread-chip-unread');

    // Alice opens the thread on tab 1: she sees the replies, and the unread mark clears on tab 2 too.
    await chipOf(alice.page, 'Where should we go').click();
    await expect
      .poll(() => threadReplyTexts(alice.page), POLL)
      .toEqual(['The mountains!', 'Or the lake, if it is warm']);
    for (const tab of aliceTabs) {
      await expect.poll(() => chipState(tab, 'Where should we go'), POLL).toBe('2 replies');
      await expect
        .poll(() => conversationItem(tab, 'Weekend trip').locator('.thread-badge').count(), POLL)
        .toBe(0);
    }

    // Her answer shows live in Bob's open panel; nobody's timeline shows the replies.
    await replyInThread(alice.page, 'Lake it is, I will bring the kayak');
    const allReplies = ['The mountains!', 'Or the lake, if it is warm', 'Lake it is, I will bring the kayak'];
    await expect.poll(() => threadReplyTexts(bob.page), POLL).toEqual(allReplies);
    await expect.poll(() => threadReplyTexts(alice.page), POLL).toEqual(allReplies);
    // Bob has the thread open: Alice's reply is read as it arrives.
    await expect.poll(() => chipState(bob.page, 'Where should we go'), POLL).toBe('3 replies');
    await expect.poll(() => chipState(tab2, 'Where should we go'), POLL).toBe('3 replies');
    expect(await conversationItem(bob.page, 'Weekend trip').locator('.thread-badge').count()).toBe(0);
    for (const page of [alice.page, tab2, bob.page]) expect(await timelineTexts(page)).toEqual(mainTexts);
    await alice.screenshot('thread-panel-desktop');
    await bob.screenshot('thread-panel-desktop-bob');

    // A narrower window: the thread slides over the conversation's right side.
    await alice.page.setViewportSize({ width: 1000, height: 720 });
    await alice.screenshot('thread-panel-narrow');
    await alice.page.setViewportSize({ width: 1280, height: 800 });

    // Escape closes the panel; the conversation stays.
    await threadPanel(alice.page).getByLabel('Reply in thread').focus();
    await alice.page.keyboard.press('Escape');
    await expect.poll(() => threadPanel(alice.page).count(), POLL).toBe(0);
    expect(await timelineTexts(alice.page)).toEqual(mainTexts);
    await bob.close();
    await alice.close();
  }, 90_000);

  it('on a phone the thread opens full screen from the long-press sheet, and back returns to the conversation', async () => {
    const bob = await WebUser.signUp(browser, base, uid('bob'), PHONE);
    const alice = await WebUser.signUp(browser, base, uid('alice'));
    await alice.startDirect(bob.username);
    await alice.send('Movie tonight?');

    await bob.open(alice.username);
    await expect.poll(() => timelineTexts(bob.page), POLL).toEqual(['Movie tonight?']);
    await (await bob.longPress('Movie tonight?')).getByRole('button', { name: 'Reply in thread' }).click();
    const panel = threadPanel(bob.page);
    await panel.waitFor(POLL);
    expect(await panel.boundingBox()).toEqual({ x: 0, y: 0, width: PHONE.width, height: PHONE.height });
    await replyInThread(bob.page, 'Which one?');

    // Alice answers in the thread from her desktop; Bob's full-screen panel shows it.
    await expect.poll(() => chipState(alice.page, 'Movie tonight?'), POLL).toBe('1 reply unread');
    await chipOf(alice.page, 'Movie tonight?').click();
    await replyInThread(alice.page, 'The new space one');
    await expect.poll(() => threadReplyTexts(bob.page), POLL).toEqual(['Which one?', 'The new space one']);
    await bob.screenshot('thread-panel-phone');

    await panel.getByRole('button', { name: 'Back to the conversation' }).click();
    await expect.poll(() => panel.count(), POLL).toBe(0);
    await expect.poll(() => chipState(bob.page, 'Movie tonight?'), POLL).toBe('2 replies');
    expect(await timelineTexts(bob.page)).toEqual(['Movie tonight?']);
    await bob.screenshot('thread-chip-phone');
    await bob.close();
    await alice.close();
  }, 60_000);

  it('after a reload, a message behind a long thread still shows with its chip, and the thread opens at its newest reply', async () => {
    const bob = await WebUser.signUp(browser, base, uid('bob'));
    const alice = await WebUser.signUp(browser, base, uid('alice'));
    await alice.startDirect(bob.username);
    await alice.send('Post your favourite songs here');
    const conversationId = await alice.openConversationId();
    // The seq is there once the send is acked (a message still sending has none).
    const root = messageWith(alice.page, 'favourite songs');
    await expect.poll(async () => Number(await root.getAttribute('data-seq')), POLL).toBeGreaterThan(0);
    const rootSeq = Number(await root.getAttribute('data-seq'));
    await bob.open(alice.username);
    await sendThreadFromNode(await storedToken(bob.page), conversationId, rootSeq, 70);

    // The newest pages of history hold only thread replies: the list keeps loading until the message shows.
    await alice.page.reload();
    await alice.open(bob.username);
    await expect.poll(() => chipState(alice.page, 'favourite songs'), POLL).toBe('70 replies unread');
    expect(await timelineTexts(alice.page)).toEqual(['Post your favourite songs here']);
    await chipOf(alice.page, 'favourite songs').click();
    const replies = () => threadReplyTexts(alice.page);
    await expect.poll(async () => (await replies()).length, POLL).toBe(70);
    expect((await replies()).slice(0, 2)).toEqual(['song 1', 'song 2']);
    expect((await replies()).at(-1)).toBe('song 70');
    await expect.poll(() => isScrolledToBottom(alice.page), POLL).toBe(true);
    await expect.poll(() => chipState(alice.page, 'favourite songs'), POLL).toBe('70 replies');
    await alice.screenshot('thread-long');
    await bob.close();
    await alice.close();
  }, 60_000);

  async function isScrolledToBottom(page: Page): Promise<boolean> {
    return threadPanel(page)
      .getByRole('log', { name: 'Thread messages' })
      .evaluate((element) => element.scrollHeight - element.scrollTop - element.clientHeight < 2);
  }

  /** Sends `count` replies ("song 1", ...) in the thread under `rootSeq` as a Node.js bot on the same account. */
  async function sendThreadFromNode(
    token: string,
    conversationId: string,
    rootSeq: number,
    count: number,
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
    for (let i = 1; i <= count; i++) await client.send(conversationId, `song ${i}`, { threadRoot: rootSeq });
    await expect.poll(() => acked, POLL).toBe(count);
    client.close();
  }
});
