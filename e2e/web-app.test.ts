import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, uid } from '../packages/server/test/helpers/server.js';
import { chromiumAvailable, launchChromium } from './browser.js';
import { sendFromNode } from './node-sender.js';
import {
  conversationItem,
  messageTexts,
  PHONE,
  statusOf,
  storedToken,
  timelineLines,
  WebUser,
} from './web-app-driver.js';

const enabled = chromiumAvailable();
const POLL = { timeout: 15_000, interval: 50 };

/** The web app served by the real server, driven in real Chromium: one browser profile per user. */
describe.runIf(enabled)('the web app in a real browser', () => {
  let server: TestServer;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    // Production-like typing timings: the app's notifier repeats a start every 3 s.
    server = await startTestServer({
      registrationsPerHour: 1000,
      typingTtlMs: 6000,
      sendsPerSecond: 2000,
      sendBurst: 2000,
    });
    base = server.httpUrl;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  it('two users chat 1:1: messages both ways, ticks go to read, typing shows and disappears', async () => {
    const bob = await WebUser.signUp(browser, base, uid('bob'));
    const alice = await WebUser.signUp(browser, base, uid('alice'));
    await alice.startDirect(bob.username);
    await alice.send('Hi Bob, lunch today?');

    // Bob sees the conversation arrive with its badge, then reads it.
    const item = conversationItem(bob.page, alice.username);
    await expect.poll(() => item.locator('.badge').textContent(), POLL).toContain('1');
    await bob.screenshot('list-with-unread');
    await bob.open(alice.username);
    await expect.poll(() => messageTexts(bob.page), POLL).toEqual(['Hi Bob, lunch today?']);
    await expect.poll(() => item.locator('.badge').count(), POLL).toBe(0);
    await expect
      .poll(() => statusOf(alice.page, 'lunch today').getAttribute('data-status'), POLL)
      .toBe('read');

    // Typing shows on the other side and goes away once the message is sent.
    const status = alice.page.locator('.conversation-status');
    await bob.page.getByLabel('Message', { exact: true }).pressSequentially('Sure, at no');
    await expect.poll(() => status.textContent(), POLL).toMatch(/is typing/);
    await alice.screenshot('typing');
    await bob.page.getByLabel('Message', { exact: true }).pressSequentially('on!');
    await bob.page.getByLabel('Message', { exact: true }).press('Enter');
    await expect
      .poll(() => messageTexts(alice.page), POLL)
      .toEqual(['Hi Bob, lunch today?', 'Sure, at noon!']);
    await expect.poll(() => status.textContent(), POLL).not.toMatch(/typing/);
    await expect.poll(() => statusOf(bob.page, 'at noon').getAttribute('data-status'), POLL).toBe('read');
    await expect.poll(() => status.textContent(), POLL).toBe('online');
    await alice.screenshot('conversation-desktop');

    // Editing and deleting your own message shows on both sides.
    const actions = await alice.openMessageActions('lunch today');
    await actions.getByRole('button', { name: 'Edit message' }).click();
    const editor = alice.page.getByLabel('Edit your message');
    await editor.fill('Hi Bob, lunch tomorrow?');
    await editor.press('Enter');
    for (const page of [alice.page, bob.page]) {
      await expect
        .poll(() => messageTexts(page), POLL)
        .toEqual(['Hi Bob, lunch tomorrow?', 'Sure, at noon!']);
      await page.locator('.message .edited').waitFor();
    }
    await (await bob.openMessageActions('at noon')).getByRole('button', { name: 'Delete message' }).click();
    await bob.page.getByRole('alertdialog').getByRole('button', { name: 'Delete', exact: true }).click();
    for (const page of [alice.page, bob.page]) {
      await expect
        .poll(() => messageTexts(page), POLL)
        .toEqual(['Hi Bob, lunch tomorrow?', 'This message was deleted']);
    }

    // Bob leaves: Alice sees when he was last around.
    await bob.close();
    await expect.poll(() => status.textContent(), POLL).toBe('last seen just now');
    await alice.close();
  }, 60_000);

  it('messages typed offline show as sending and arrive exactly once, in order, when back online', async () => {
    const bob = await WebUser.signUp(browser, base, uid('bob'));
    const alice = await WebUser.signUp(browser, base, uid('alice'));
    await alice.startDirect(bob.username);
    await alice.send('Are you on the train?');
    await bob.open(alice.username);
    await expect.poll(() => messageTexts(bob.page), POLL).toEqual(['Are you on the train?']);

    await bob.context.setOffline(true);
    await bob.page.locator('.banner.offline').waitFor();
    for (const text of ['Yes', 'Tunnel coming', 'Back in 5']) await bob.send(text);
    await expect.poll(() => bob.page.locator('.message.mine[data-status="sending"]').count(), POLL).toBe(3);
    await bob.screenshot('offline-queued');
    expect(await messageTexts(alice.page)).toEqual(['Are you on the train?']);

    await bob.context.setOffline(false);
    const expected = ['Are you on the train?', 'Yes', 'Tunnel coming', 'Back in 5'];
    await expect.poll(() => messageTexts(alice.page), POLL).toEqual(expected);
    await expect.poll(() => bob.page.locator('.banner').count(), POLL).toBe(0);
    await expect.poll(() => bob.page.locator('.message.mine[data-status="read"]').count(), POLL).toBe(3);
    // Nothing more arrives later: each message exactly once.
    await alice.page.waitForTimeout(1000);
    expect(await messageTexts(alice.page)).toEqual(expected);
    await bob.close();
    await alice.close();
  }, 60_000);

  it('a reload while offline keeps the queued message, which goes out once when back online', async () => {
    const bob = await WebUser.signUp(browser, base, uid('bob'));
    const alice = await WebUser.signUp(browser, base, uid('alice'));
    await alice.startDirect(bob.username);
    await alice.send('Ping');
    await bob.open(alice.username);
    await expect.poll(() => messageTexts(bob.page), POLL).toEqual(['Ping']);
    // The app shell is cached by the service worker once it controls the page.
    await bob.page.waitForFunction('navigator.serviceWorker.controller !== null', undefined, {
      timeout: 10_000,
    });

    await bob.context.setOffline(true);
    await bob.page.locator('.banner.offline').waitFor();
    await bob.send('Written before the reload');
    await bob.page.locator('.message.mine[data-status="sending"]').waitFor();
    await bob.page.reload();
    await bob.page.locator('.banner.offline').waitFor();
    await bob.screenshot('reloaded-offline');
    await expect
      .poll(
        () => bob.page.locator('.message.mine[data-status="sending"] .bubble-text').allTextContents(),
        POLL,
      )
      .toEqual(['Written before the reload']);
    expect(await messageTexts(alice.page)).toEqual(['Ping']);

    await bob.context.setOffline(false);
    await expect.poll(() => messageTexts(alice.page), POLL).toEqual(['Ping', 'Written before the reload']);
    await alice.page.waitForTimeout(1000);
    expect(await messageTexts(alice.page)).toEqual(['Ping', 'Written before the reload']);
    await bob.close();
    await alice.close();
  }, 60_000);

  it('two tabs of one user stay in sync: a message sent in one shows in the other, reading in one clears the badge in both', async () => {
    const bob = await WebUser.signUp(browser, base, uid('bob'));
    const alice = await WebUser.signUp(browser, base, uid('alice'));
    await alice.startDirect(bob.username);
    await alice.send('Sent from tab one');
    const secondTab = await alice.openTab(base);
    await alice.page.goto(base);
    await alice.page.getByRole('button', { name: 'New conversation' }).waitFor();
    await expect
      .poll(
        () => conversationItem(secondTab, bob.username).locator('.conversation-preview').textContent(),
        POLL,
      )
      .toBe('You: Sent from tab one');

    await bob.open(alice.username);
    await bob.send('A reply for both tabs');
    for (const tab of [alice.page, secondTab]) {
      await expect
        .poll(() => conversationItem(tab, bob.username).locator('.badge').textContent(), POLL)
        .toContain('1');
    }
    await alice.open(bob.username, secondTab);
    await expect
      .poll(() => messageTexts(secondTab), POLL)
      .toEqual(['Sent from tab one', 'A reply for both tabs']);
    await expect
      .poll(() => conversationItem(alice.page, bob.username).locator('.badge').count(), POLL)
      .toBe(0);
    await bob.close();
    await alice.close();
  }, 60_000);

  it('groups: create one, manage its members, and it reads well at phone width', async () => {
    const bob = await WebUser.signUp(browser, base, uid('bob'), PHONE);
    const carol = await WebUser.signUp(browser, base, uid('carol'));
    const alice = await WebUser.signUp(browser, base, uid('alice'));
    await alice.screenshot('empty-list');
    await alice.createGroup('Weekend trip', [bob.username]);
    await alice.send('Who is in for Saturday?');

    await bob.screenshot('phone-list');
    await bob.open('Weekend trip');
    await expect.poll(() => messageTexts(bob.page), POLL).toEqual(['Who is in for Saturday?']);
    await bob.send('Me!');
    await bob.screenshot('phone-conversation');

    await alice.page.getByRole('button', { name: 'Members' }).click();
    await alice.page.getByLabel('Username to add').fill(carol.username);
    await alice.page.getByRole('button', { name: 'Add', exact: true }).click();
    await expect.poll(() => alice.page.locator('.members-panel li').count(), POLL).toBe(3);
    await alice.page.getByRole('button', { name: `Make ${carol.username} an admin` }).click();
    await expect
      .poll(() => alice.page.locator('.members-panel .role').allTextContents(), POLL)
      .toEqual(['owner', 'admin']);
    await alice.screenshot('group-members');
    await conversationItem(carol.page, 'Weekend trip').waitFor();
    await alice.send('Welcome Carol');
    await carol.open('Weekend trip');
    await expect.poll(() => messageTexts(carol.page), POLL).toContain('Welcome Carol');

    await alice.page.getByRole('button', { name: new RegExp(`Remove ${bob.username}`) }).click();
    await alice.page.getByRole('alertdialog').getByRole('button', { name: 'Remove', exact: true }).click();
    await expect.poll(() => alice.page.locator('.members-panel li').count(), POLL).toBe(2);
    await bob.page.getByText('You are no longer a member of this conversation.').waitFor();

    // The timeline tells who did what, in order among the messages, from each one's point of view.
    await expect
      .poll(() => timelineLines(alice.page), POLL)
      .toEqual([
        'You created the group “Weekend trip”',
        'Who is in for Saturday?',
        'Me!',
        `You added ${carol.username}`,
        `You made ${carol.username} an admin`,
        'Welcome Carol',
        `You removed ${bob.username}`,
      ]);
    await expect
      .poll(() => timelineLines(carol.page), POLL)
      .toEqual([
        `${alice.username} added you`,
        `${alice.username} made you an admin`,
        'Welcome Carol',
        `${alice.username} removed ${bob.username}`,
      ]);
    await expect.poll(() => timelineLines(bob.page), POLL).toContain(`${alice.username} removed you`);
    await alice.screenshot('group-timeline');
    await bob.screenshot('phone-removed');
    for (const user of [alice, bob, carol]) await user.close();
  }, 60_000);

  it('a long history stays virtualized: few rows in the page, older pages load on scrolling up', async () => {
    const bob = await WebUser.signUp(browser, base, uid('bob'));
    const alice = await WebUser.signUp(browser, base, uid('alice'));
    await alice.startDirect(bob.username);
    const history = 400;
    const lines = Array.from({ length: history }, (_, i) => `line ${i + 1}`);
    // Alice's own messages from another device: all read, so the chat opens at the bottom
    // (a chat with unread opens at the first unread, e2e/message-list-scrolling.test.ts).
    await sendFromNode(server, await storedToken(alice.page), bob.username, lines);

    await alice.page.reload();
    await alice.open(bob.username);
    await expect.poll(() => messageTexts(alice.page).then((t) => t.at(-1)), POLL).toBe(`line ${history}`);
    const rendered = await alice.page.locator('.message').count();
    expect(rendered).toBeGreaterThan(5);
    expect(rendered).toBeLessThan(60);
    await alice.screenshot('long-history');

    // Scrolling to the top again and again walks back through every page to the first message.
    const log = alice.page.getByRole('log', { name: 'Messages' });
    await expect
      .poll(
        async () => {
          await log.evaluate((element) => element.scrollTo({ top: 0 }));
          return messageTexts(alice.page).then((t) => t[0]);
        },
        { timeout: 20_000, interval: 200 },
      )
      .toBe('line 1');
    expect(await alice.page.locator('.message').count()).toBeLessThan(60);
    await bob.close();
    await alice.close();
  }, 60_000);

  it('message text is formatted: bold, italic, code, code blocks, safe links, big emoji, and HTML stays text', async () => {
    const bob = await WebUser.signUp(browser, base, uid('bob'), PHONE);
    const alice = await WebUser.signUp(browser, base, uid('alice'));
    await alice.startDirect(bob.username);
    const codeLine = 'const greeting = lines.map((line) => line.padEnd(60, ".")).join("\\n") + " done";';
    const injection = '<img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script>';
    await alice.send('Plan: *ship it*, _quietly_, after `npm test`');
    await alice.send(`Run this:\n\`\`\`ts\n${codeLine}\nconsole.log(greeting);\n\`\`\``);
    await alice.send('Docs at https://example.com/docs?page=2. Not [this](javascript:window.__pwned=3)');
    await alice.send('🎉🎉');
    await alice.send(injection);
    const texts = [
      'Plan: ship it, quietly, after npm test',
      `Run this:${codeLine}\nconsole.log(greeting);`,
      'Docs at https://example.com/docs?page=2. Not [this](javascript:window.__pwned=3)',
      '🎉🎉',
      injection,
    ];

    await bob.open(alice.username);
    await expect.poll(() => messageTexts(bob.page), POLL).toEqual(texts);
    await bob.send('Looks *great*, see [the plan](https://example.com/plan)');
    await expect.poll(() => messageTexts(alice.page), POLL).toEqual([...texts, 'Looks great, see the plan']);

    const page = bob.page;
    const text = page.locator('.message .bubble-text');
    expect(await text.locator('strong').allTextContents()).toEqual(['ship it', 'great']);
    expect(await text.locator('em').allTextContents()).toEqual(['quietly']);
    expect(await text.locator('code:not(pre code)').allTextContents()).toEqual(['npm test']);
    expect(await text.locator('pre > code').textContent()).toBe(`${codeLine}\nconsole.log(greeting);`);
    const links = text.locator('a');
    expect(await links.count()).toBe(2);
    const docs = links.first();
    expect(await docs.textContent()).toBe('https://example.com/docs?page=2');
    expect(await docs.getAttribute('href')).toBe('https://example.com/docs?page=2');
    expect(await docs.getAttribute('target')).toBe('_blank');
    expect(await docs.getAttribute('rel')).toBe('noopener noreferrer nofollow');
    expect(await links.last().getAttribute('href')).toBe('https://example.com/plan');
    expect(await page.locator('.message.emoji-only .bubble-text').allTextContents()).toEqual(['🎉🎉']);
    expect(await text.locator('img, script').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __pwned?: unknown }).__pwned)).toBeUndefined();

    // At phone width the code block scrolls inside its bubble instead of widening the page.
    const block = page.locator('.code-block');
    expect(await block.evaluate((pre) => pre.scrollWidth > pre.clientWidth)).toBe(true);
    const right = Math.max(
      ...(await page
        .locator('.message .bubble')
        .evaluateAll((all) => all.map((b) => b.getBoundingClientRect().right))),
    );
    expect(right).toBeLessThanOrEqual(PHONE.width);
    // The list preview shows the text a reader sees, not the markup.
    await expect
      .poll(
        () => conversationItem(alice.page, bob.username).locator('.conversation-preview').textContent(),
        POLL,
      )
      .toBe('Looks great, see the plan');
    await alice.screenshot('formatted-desktop');
    await bob.screenshot('formatted-phone');
    await bob.close();
    await alice.close();
  }, 60_000);
});
