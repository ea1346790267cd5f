import type { ChatEvent } from '@natter/protocol';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type * as NatterSdk from '../packages/client/src/index.js';
import { NatterClient } from '../packages/client/src/index.js';
import type { WebSocketLike } from '../packages/client/src/socket.js';
import {
  createDirect,
  signToken,
  sleep,
  startTestServer,
  type TestServer,
  uid,
  until,
} from '../packages/server/test/helpers/server.js';
import { chromiumAvailable, launchChromium } from './browser.js';
import { serveSdkPage } from './sdk-page.js';

const enabled = chromiumAvailable();

describe.runIf(enabled)('the SDK in a real browser', () => {
  let server: TestServer;
  let sdk: Awaited<ReturnType<typeof serveSdkPage>>;
  let browser: Browser;

  beforeAll(async () => {
    server = await startTestServer({ allowedOrigins: ['*'] });
    sdk = await serveSdkPage();
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await sdk?.close();
    await server?.dispose();
  });

  /** Opens the SDK page and starts a client with an IndexedDB outbox; resolves once live. */
  async function startClient(page: Page, user: string): Promise<void> {
    await page.goto(sdk.url);
    const config = { url: server.wsUrl, token: await signToken(user), db: `natter-${user}` };
    // This function runs in the page: it may only use the page's globals (Natter, WebSocket).
    await page.evaluate(async ({ url, token, db }) => {
      const page = globalThis as unknown as {
        Natter: typeof NatterSdk;
        WebSocket: new (url: string) => WebSocketLike;
        client: unknown;
      };
      const client = new page.Natter.NatterClient({
        url,
        token,
        webSocket: (u) => new page.WebSocket(u),
        outbox: new page.Natter.IndexedDbOutboxStorage(db),
      });
      page.client = client;
      await client.connect();
      while (client.state !== 'live') await new Promise((r) => setTimeout(r, 20));
    }, config);
  }

  it('a message written offline survives closing the tab and is delivered once when back online', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const conv = await createDirect(server.httpUrl, alice, bob);
    const received: ChatEvent[] = [];
    const peer = new NatterClient({
      url: server.wsUrl,
      token: () => signToken(bob),
      webSocket: (url) => new WebSocket(url) as unknown as WebSocketLike,
    });
    peer.on('event', (e) => {
      if (e.kind === 'message') received.push(e);
    });
    await peer.connect();

    const context = await browser.newContext();
    const first = await context.newPage();
    await startClient(first, alice);
    await context.setOffline(true);
    await first.evaluate(async (conversationId) => {
      const client = (
        globalThis as unknown as { client: { state: string; send(c: string, b: string): Promise<unknown> } }
      ).client;
      while (client.state === 'live') await new Promise((r) => setTimeout(r, 20));
      await client.send(conversationId, 'written offline');
    }, conv);
    await first.close();
    await sleep(300);
    expect(received).toEqual([]);

    await context.setOffline(false);
    const second = await context.newPage();
    await startClient(second, alice);
    await until(() => received.length > 0);
    await sleep(500);
    expect(received.map((e) => e.body)).toEqual(['written offline']);
    peer.close();
    await context.close();
  }, 30_000);
});
