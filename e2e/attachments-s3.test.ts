import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gradientPng } from '../packages/server/test/helpers/images.js';
import { s3Settings, startS3rver } from '../packages/server/test/helpers/s3rver.js';
import { startTestServer, type TestServer, uid } from '../packages/server/test/helpers/server.js';
import { chromiumAvailable, launchChromium } from './browser.js';
import { DESKTOP, messageWith, WebUser } from './web-app-driver.js';

const enabled = chromiumAvailable();
const POLL = { timeout: 15_000, interval: 50 };

/**
 * The web app with attachments in an S3 bucket it reaches directly (a real s3rver with CORS): the
 * browser PUTs the image to the bucket at its presigned URL and the other user's browser loads it
 * from there, under the app's Content-Security-Policy (issue 11: presigned PUT/GET).
 */
describe.runIf(enabled)('attachments stored in S3, sent and shown straight from the bucket', () => {
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    s3 = await startS3rver({ cors: true });
    server = await startTestServer({ registrationsPerHour: 1000, ...s3Settings(s3.endpoint) });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    await s3?.close();
  });

  it('desktop: an image goes to the bucket and comes back from it, with its placeholder and size', async () => {
    const alice = await WebUser.signUp(browser, server.httpUrl, uid('alice'), DESKTOP);
    const bob = await WebUser.signUp(browser, server.httpUrl, uid('bob'), DESKTOP);
    const refused: string[] = [];
    for (const user of [alice, bob])
      user.page.on('console', (message) => {
        if (message.type() === 'error') refused.push(message.text());
      });
    const uploads: string[] = [];
    alice.page.on('request', (request) => {
      if (request.method() === 'PUT') uploads.push(request.url());
    });
    await alice.startDirect(bob.username);
    await alice.page
      .getByLabel('Files to attach')
      .setInputFiles([{ name: 'harbour.png', mimeType: 'image/png', buffer: gradientPng(480, 320) }]);
    const tray = alice.page.getByRole('list', { name: 'Attachments' });
    await expect.poll(() => tray.getByRole('button', { name: /^Remove / }).count(), POLL).toBe(1);
    await alice.send('The harbour, from the bucket');
    expect(uploads.every((url) => url.startsWith(`${s3.endpoint}/`))).toBe(true);
    expect(uploads).toHaveLength(1);

    await bob.open(alice.username);
    const preview = messageWith(bob.page, 'The harbour, from the bucket').getByRole('button', {
      name: 'Open harbour.png',
    });
    await preview.waitFor();
    const image = preview.locator('img');
    await expect
      .poll(() => image.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth), POLL)
      .toBe(480);
    expect((await image.getAttribute('src'))?.startsWith(`${s3.endpoint}/`)).toBe(true);
    await bob.screenshot('attachments-s3-desktop');
    expect(refused).toEqual([]);
    await alice.close();
    await bob.close();
  });
});
