import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { NatterClient, type OutboxEntry, type SendOptions } from '../packages/client/src/index.js';
import type { WebSocketLike } from '../packages/client/src/socket.js';
import { startTestServer, type TestServer, uid } from '../packages/server/test/helpers/server.js';
import { chromiumAvailable, launchChromium } from './browser.js';
import { messageWith, PHONE, storedToken, WebUser } from './web-app-driver.js';

const enabled = chromiumAvailable();
const POLL = { timeout: 30_000, interval: 50 };

/** Message search in the web app, against the real server: results, highlights, filters, jumps. */
describe.runIf(enabled)('message search in a real browser', () => {
  let server: TestServer;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    server = await startTestServer({
      registrationsPerHour: 1000,
      sendsPerSecond: 2000,
      sendBurst: 2000,
      searchesPerSecond: 50,
      searchBurst: 100,
    });
    base = server.httpUrl;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  it('finds a message far back in the history and jumps to it; a thread reply opens its thread, on a phone too', async () => {
    const bob = await WebUser.signUp(browser, base, uid('bob'));
    const alice = await WebUser.signUp(browser, base, uid('alice'));
    await alice.createGroup('Quarterly planning', [bob.username]);
    const groupId = await alice.openConversationId();
    await alice.send('The zebra report for Q3 is in the shared folder, with the budget appendix');
    // Its seq is known once the server acked it.
    const root = messageWith(alice.page, 'zebra report');
    await expect.poll(async () => Number(await root.getAttribute('data-seq')), POLL).toBeGreaterThan(0);
    const rootSeq = Number(await root.getAttribute('data-seq'));
    const bobToken = await storedToken(bob.page);
    await sendFromNode(bobToken, groupId, ['Thanks! The giraffe numbers look off though'], {
      threadRoot: rootSeq,
    });
    // From Alice's other device: read, so her chat opens at the bottom, far from the zebra report
    // (a chat with unread opens at the first unread).
    await sendFromNode(
      await storedToken(alice.page),
      groupId,
      Array.from({ length: 70 }, (_, i) => `filler message ${i + 1} about lunch`),
    );
    await alice.page.reload();
    await alice.open('Quarterly planning');
    expect(await messageWith(alice.page, 'zebra report').count()).toBe(0);

    // Alice searches: the hit shows who, where and the matched word marked.
    await search(alice.page, 'zebra');
    const hit = alice.page.locator('.search-hit');
    await expect.poll(() => hit.count(), POLL).toBe(1);
    expect(await hit.locator('mark').allTextContents()).toEqual(['zebra']);
    expect(await hit.locator('.search-hit-who').textContent()).toBe('You');
    expect(await hit.locator('.search-hit-where').textContent()).toBe('in Quarterly planning');
    await alice.screenshot('search-results');

    // A click loads the older history and shows the message highlighted, in view.
    await hit.click();
    const jumped = messageWith(alice.page, 'zebra report');
    await expect.poll(() => jumped.getAttribute('class'), POLL).toContain('highlighted');
    await alice.screenshot('search-jumped');

    // "Load more" pages without repeats; from Bob only, Alice's report is not found.
    await search(alice.page, 'lunch');
    await expect.poll(() => hit.count(), POLL).toBe(20);
    await alice.page.getByRole('button', { name: 'Load more' }).click();
    await expect.poll(() => hit.count(), POLL).toBe(40);
    const seqs = await hit.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-seq')));
    expect(new Set(seqs).size).toBe(40);
    // Bob's thread reply puts him among the senders to filter by.
    await search(alice.page, 'giraffe');
    await expect.poll(() => hit.count(), POLL).toBe(1);
    await alice.page.getByLabel('From').selectOption({ label: bob.username });
    await search(alice.page, 'zebra');
    await alice.page.getByText('No messages match “zebra”.').waitFor(POLL);
    await alice.page.getByLabel('From').selectOption({ label: 'Anyone' });
    await expect.poll(() => hit.count(), POLL).toBe(1);

    // Bob, on a phone, finds the thread reply: the thread opens over the conversation.
    await bob.page.setViewportSize(PHONE);
    await bob.page.reload();
    await search(bob.page, 'giraffe');
    const threadHit = bob.page.locator('.search-hit');
    await expect.poll(() => threadHit.count(), POLL).toBe(1);
    expect(await threadHit.locator('.search-hit-where').textContent()).toBe(
      'in a thread in Quarterly planning',
    );
    await bob.screenshot('search-phone-results');
    await threadHit.click();
    const panel = bob.page.getByRole('region', { name: 'Thread' });
    await panel.waitFor(POLL);
    await expect.poll(() => panel.getByText('giraffe numbers').count(), POLL).toBe(1);
    await bob.screenshot('search-phone-thread');
  }, 120_000);

  async function search(page: Page, query: string): Promise<void> {
    const box = page.getByLabel('Search messages');
    await box.fill(query);
  }

  /** Sends the bodies to a conversation as a Node.js bot on the same account. */
  async function sendFromNode(
    token: string,
    conversationId: string,
    bodies: string[],
    options: SendOptions = {},
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
    for (const body of bodies) await client.send(conversationId, body, options);
    await expect.poll(() => acked, POLL).toBe(bodies.length);
    client.close();
  }
});
