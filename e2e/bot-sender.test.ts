import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintApiKey } from '../packages/server/src/auth/api-keys.js';
import { api, startTestServer, type TestServer, uid } from '../packages/server/test/helpers/server.js';
import { chromiumAvailable, launchChromium } from './browser.js';
import { messageWith, PHONE, WebUser, WIDE_DESKTOP } from './web-app-driver.js';

const enabled = chromiumAvailable();
const POLL = { timeout: 15_000, interval: 50 };

/** The user id the app stored for this browser profile. */
async function storedUserId(user: WebUser): Promise<string> {
  const stored = await user.page.evaluate('localStorage.getItem("natter.session")');
  return (JSON.parse(String(stored ?? '{}')) as { userId: string }).userId;
}

/**
 * A product's backend, through the server API, creates a bot and posts as it: people see its
 * messages live, marked as a bot's wherever its name shows (issue 11: send as a bot sender).
 */
describe.runIf(enabled)('a bot a backend posts as', () => {
  const key = mintApiKey('backend', ['users', 'conversations', 'messages']);
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startTestServer({ registrationsPerHour: 1000, serverApiKeys: [key.entry] });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  const backend = async (method: string, path: string, body: unknown) => {
    const answer = await api<Record<string, unknown>>(server.httpUrl, method, path, { token: key.key, body });
    expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(300);
    return answer.body;
  };

  for (const [width, viewport] of [
    ['desktop', WIDE_DESKTOP],
    ['phone', PHONE],
  ] as const) {
    it(`${width}: the bot's messages arrive live and its name carries a Bot badge in the group, its members and a 1:1`, async () => {
      const alice = await WebUser.signUp(browser, server.httpUrl, uid('alice'), viewport);
      const botId = uid('orders');
      // Each width's bot has its own name: the people search finds the other one too.
      const botName = width === 'phone' ? 'Parcel Desk' : 'Order Desk';
      await backend('POST', '/v1/server/users', { user_id: botId, display_name: botName, bot: true });
      const created = await backend('POST', '/v1/server/conversations', {
        creator_id: await storedUserId(alice),
        title: 'Orders',
        member_ids: [botId],
      });
      const conversationId = (created.conversation as { conversation_id: string }).conversation_id;
      await alice.open('Orders');
      await backend('POST', `/v1/server/conversations/${conversationId}/messages`, {
        sender_id: botId,
        client_msg_id: 'shipped-1042',
        body: 'Your order #1042 has shipped.',
      });

      const message = messageWith(alice.page, 'Your order #1042 has shipped.');
      await message.waitFor(POLL);
      await expect.poll(() => message.locator('.sender').textContent(), POLL).toBe(`${botName}Bot`);
      await expect
        .poll(() => message.locator('.bot-badge').getAttribute('title'), POLL)
        .toBe('Automated sender');
      await alice.screenshot(`bot-sender-${width}-group`);

      // A phone reaches the members through the conversation's menu.
      if (width === 'phone') await alice.page.getByRole('button', { name: 'Conversation settings' }).click();
      await alice.page.getByRole('button', { name: 'Members' }).click();
      const members = alice.page.getByRole('region', { name: 'Members' });
      const botRow = members.getByRole('listitem').filter({ hasText: botName });
      await expect.poll(() => botRow.locator('.bot-badge').count(), POLL).toBe(1);
      expect(
        await members.getByRole('listitem').filter({ hasText: '(you)' }).locator('.bot-badge').count(),
      ).toBe(0);
      await alice.screenshot(`bot-sender-${width}-members`);
      await members.getByRole('button', { name: 'Close members' }).click();
      if (width === 'phone') await alice.page.getByRole('button', { name: 'Back to conversations' }).click();

      // The people picker marks it too, and a 1:1 with it says so in its header.
      await alice.page.getByRole('button', { name: 'New conversation' }).click();
      await alice.page
        .getByRole('combobox', { name: 'Who do you want to talk to?' })
        .fill(botName.split(' ')[0]!.toLowerCase());
      const option = alice.page.getByRole('option').filter({ hasText: botName });
      await expect.poll(() => option.locator('.bot-badge').count(), POLL).toBe(1);
      await option.click();
      await alice.page.locator('.conversation-header h2', { hasText: botName }).waitFor(POLL);
      expect(await alice.page.locator('.conversation-header h2 .bot-badge').textContent()).toBe('Bot');
      // No presence for a bot: the header says what it is.
      await expect
        .poll(() => alice.page.locator('.conversation-status').textContent(), POLL)
        .toBe('Automated account');
      await alice.screenshot(`bot-sender-${width}-direct`);
      await alice.close();
    });
  }
});
