import type { Browser, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, uid } from '../packages/server/test/helpers/server.js';
import { chromiumAvailable, launchChromium } from './browser.js';
import { PHONE, WebUser, WIDE_DESKTOP } from './web-app-driver.js';

const enabled = chromiumAvailable();
const POLL = { timeout: 15_000, interval: 50 };

/** Inside a chat, at every width, the header says when messages cannot flow (issue 10 item 5). */
describe.runIf(enabled)('the connection state in the chat header', () => {
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

  for (const [width, viewport] of [
    ['phone', PHONE],
    ['desktop', WIDE_DESKTOP],
  ] as const) {
    it(`${width}: "Waiting for network…" with the network cut, "Connecting…" until the server answers, then presence again`, async () => {
      const alice = await WebUser.signUp(browser, base, uid('alice'));
      const bob = await WebUser.signUp(browser, base, uid('bob'), viewport);
      await bob.startDirect(alice.username);
      await bob.send('Are you there?');
      const status = bob.page.locator('.conversation-header .conversation-status');
      await expect.poll(() => status.textContent(), POLL).toBe('online');

      // The next sockets reach a stand-in that never answers, until it is let through.
      let held: WebSocketRoute | undefined;
      let letThrough = false;
      await bob.page.routeWebSocket(/\/ws$/, (socket) => {
        if (letThrough) socket.connectToServer();
        else held = socket;
      });

      await bob.context.setOffline(true);
      await expect.poll(() => status.getAttribute('data-connection'), POLL).toBe('offline');
      expect(await status.textContent()).toBe('Waiting for network…');
      await bob.screenshot(`connection-waiting-${width}`);

      await bob.context.setOffline(false);
      await expect.poll(() => status.getAttribute('data-connection'), POLL).toBe('open');
      expect(await status.textContent()).toBe('Connecting…');
      await bob.screenshot(`connection-connecting-${width}`);

      // Let the next socket through and drop the silent one: the chat is live again.
      letThrough = true;
      await held?.close({ code: 1006 });
      await expect.poll(() => status.getAttribute('data-connection'), POLL).toBeNull();
      await expect.poll(() => status.textContent(), POLL).toBe('online');
      for (const user of [alice, bob]) await user.close();
    }, 60_000);
  }
});
