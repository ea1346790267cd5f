import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, uid } from '../packages/server/test/helpers/server.js';
import { WsProxy } from '../packages/server/test/helpers/ws-proxy.js';
import { chromiumAvailable, launchChromium } from './browser.js';
import { messageWith, PHONE, WebUser, WIDE_DESKTOP } from './web-app-driver.js';

const enabled = chromiumAvailable();
/** Three refused upgrades (with backoff) come before the fallback: allow for them. */
const FALLBACK = { timeout: 30_000, interval: 100 };
const POLL = { timeout: 15_000, interval: 50 };

/**
 * The web app on a network that refuses WebSocket upgrades (a relay in front of the server answers
 * them 403, as corporate proxies do): it falls back to the HTTP transport by itself, says so
 * quietly, and chats both ways with someone on a WebSocket (issue 11: fallback transport).
 */
describe.runIf(enabled)('the web app where WebSockets are blocked', () => {
  let server: TestServer;
  let proxy: WsProxy;
  let browser: Browser;

  beforeAll(async () => {
    server = await startTestServer({ registrationsPerHour: 1000 });
    proxy = await WsProxy.start(server.httpUrl);
    proxy.blockWebSockets = true;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await server?.dispose();
  });

  for (const [width, viewport] of [
    ['desktop', WIDE_DESKTOP],
    ['phone', PHONE],
  ] as const) {
    it(`${width}: falls back to HTTP, says so, and chats both ways`, async () => {
      const alice = await WebUser.signUp(browser, proxy.httpUrl, uid('alice'), viewport);
      const bob = await WebUser.signUp(browser, server.httpUrl, uid('bob'), WIDE_DESKTOP);
      try {
        const note = alice.page.locator('.banner.fallback');
        await note.waitFor(FALLBACK);
        expect(await note.getAttribute('data-transport')).toBe('sse');
        expect(await note.textContent()).toBe('Connected over HTTP: this network blocks live connections.');
        await alice.screenshot(`fallback-transport-${width}-list`);

        await bob.startDirect(alice.username);
        await bob.send('Can you read me through that proxy?');
        await alice.open(bob.username);
        await messageWith(alice.page, 'Can you read me through that proxy?').waitFor(POLL);
        await alice.send('Loud and clear, over HTTP.');
        await messageWith(bob.page, 'Loud and clear, over HTTP.').waitFor(POLL);
        // Read receipts travel back the same way.
        await expect
          .poll(
            () =>
              bob.page
                .locator('.message.mine', { hasText: 'Can you read me through that proxy?' })
                .getAttribute('data-status'),
            POLL,
          )
          .toBe('read');
        await alice.screenshot(`fallback-transport-${width}-chat`);
      } finally {
        await alice.close();
        await bob.close();
      }
    });
  }
});
