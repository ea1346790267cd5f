import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import webPush from 'web-push';
import { startTestServer, type TestServer, uid } from '../packages/server/test/helpers/server.js';
import { WebPushEndpoint } from '../packages/server/test/push/web-push-endpoint.js';
import { axeViolations } from './axe.js';
import { chromiumAvailable, launchChromium } from './browser.js';
import { WebUser } from './web-app-driver.js';

const enabled = chromiumAvailable();
const POLL = { timeout: 15_000, interval: 50 };

/**
 * Stands in for the browser's push service: Chromium's is Google's FCM, which this machine cannot
 * reach, so `PushManager.subscribe` answers with a subscription at the local RFC 8030/8291 push
 * service instead (and records the VAPID key it was asked with). Everything else is real: the
 * permission, the app's registration, the server's encrypted push and its decryption.
 */
function fakePushManager(subscription: { endpoint: string; keys: { p256dh: string; auth: string } }): string {
  return `(() => {
    const subscription = ${JSON.stringify(subscription)};
    let current = null;
    const make = () => ({
      endpoint: subscription.endpoint,
      toJSON: () => ({ endpoint: subscription.endpoint, expirationTime: null, keys: subscription.keys }),
      unsubscribe: async () => { current = null; return true; },
    });
    PushManager.prototype.getSubscription = async function () { return current; };
    PushManager.prototype.subscribe = async function (options) {
      const key = new Uint8Array(options.applicationServerKey);
      window.__vapidKey = btoa(String.fromCharCode(...key)).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
      current = make();
      return current;
    };
  })();`;
}

describe.runIf(enabled)('push notifications in the web app', () => {
  let endpoint: WebPushEndpoint;
  let server: TestServer;
  let browser: Browser;
  const vapid = webPush.generateVAPIDKeys();

  beforeAll(async () => {
    endpoint = await WebPushEndpoint.start();
    server = await startTestServer(
      {
        registrationsPerHour: 1000,
        pushVapidPublicKey: vapid.publicKey,
        pushVapidPrivateKey: vapid.privateKey,
        pushCoalesceMs: 0,
      },
      undefined,
      { pushAgent: endpoint.agent },
    );
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    await endpoint?.close();
  });

  it('turned on from settings (never on load), a closed app gets a content-free push for a new message', async () => {
    const base = server.httpUrl;
    const alice = await WebUser.signUp(browser, base, uid('alice'));
    const bob = await WebUser.signUp(browser, base, uid('bob'));
    const subscription = endpoint.subscribe();
    await alice.context.grantPermissions(['notifications'], { origin: base });
    await alice.context.addInitScript(fakePushManager(subscription));
    await alice.page.reload();
    await alice.page.getByRole('button', { name: 'New conversation' }).waitFor();
    // Loading the app asked nothing: no subscription yet.
    expect(await alice.page.evaluate('window.__vapidKey ?? null')).toBeNull();

    await bob.startDirect(alice.username);
    await bob.send('Hi Alice');

    await alice.page.getByRole('button', { name: 'Settings', exact: true }).click();
    const settings = alice.page.getByRole('dialog', { name: 'Settings' });
    await settings.getByRole('button', { name: 'Turn on notifications' }).click();
    await expect
      .poll(() => settings.locator('[data-push-state]').getAttribute('data-push-state'), POLL)
      .toBe('on');
    expect(await alice.page.evaluate('window.__vapidKey')).toBe(vapid.publicKey);
    await settings.getByRole('button', { name: 'Turn off notifications' }).waitFor();
    await alice.screenshot('push-settings-on');
    expect(await axeViolations(alice.page)).toEqual([]);

    // Alice closes Natter; Bob writes. Her push service gets one push that names Bob and no text.
    await alice.close();
    await bob.send('The plans for Saturday');
    await endpoint.until(1);
    const [push] = endpoint.received;
    expect(push?.path).toBe(new URL(subscription.endpoint).pathname);
    expect(push?.payload).toMatchObject({ body: `New message from ${bob.username}`, badge: 2 });
    expect(JSON.stringify(push?.payload)).not.toContain('Saturday');
    await bob.close();
  }, 60_000);
});
