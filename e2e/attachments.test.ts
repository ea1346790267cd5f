import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gradientPng } from '../packages/server/test/helpers/images.js';
import { startTestServer, type TestServer, uid } from '../packages/server/test/helpers/server.js';
import { chromiumAvailable, launchChromium } from './browser.js';
import { DESKTOP, messageWith, WebUser } from './web-app-driver.js';

const enabled = chromiumAvailable();
const POLL = { timeout: 15_000, interval: 50 };

describe.runIf(enabled)('attachments in the web app', () => {
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

  it('desktop: attach an image and a PDF; the other user sees the preview at its size, a file card, and the lightbox', async () => {
    const alice = await WebUser.signUp(browser, base, uid('alice'), DESKTOP);
    const bob = await WebUser.signUp(browser, base, uid('bob'), DESKTOP);
    await alice.startDirect(bob.username);

    await alice.page.getByLabel('Files to attach').setInputFiles([
      { name: 'dusk.png', mimeType: 'image/png', buffer: gradientPng(480, 320) },
      { name: 'itinerary.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n% trip\n') },
    ]);
    const tray = alice.page.getByRole('list', { name: 'Attachments' });
    await expect.poll(() => tray.getByRole('button', { name: /^Remove / }).count(), POLL).toBe(2);
    await alice.send('Dusk from the ferry');

    await bob.open(alice.username);
    const message = messageWith(bob.page, 'Dusk from the ferry');
    const preview = message.getByRole('button', { name: 'Open dusk.png' });
    await preview.waitFor();
    // The box is reserved from the recorded size (480x320 scaled to 320 wide) before the image loads.
    const box = await preview.boundingBox();
    expect(Math.round(box!.width)).toBe(320);
    expect(Math.round(box!.height)).toBe(213);
    // and painted with the ThumbHash placeholder until then.
    const placeholder = await preview.evaluate(
      (button) => (button as unknown as { style: { backgroundImage: string } }).style.backgroundImage,
    );
    expect(placeholder).toContain('data:image/png');
    await expect
      .poll(
        () =>
          preview.locator('img').evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth),
        POLL,
      )
      .toBe(480);
    await expect
      .poll(() => message.locator('.attachment-file-name').textContent(), POLL)
      .toBe('itinerary.pdf');
    await bob.screenshot('attachments-timeline-desktop');

    await preview.click();
    const lightbox = bob.page.getByRole('dialog', { name: 'dusk.png' });
    await lightbox.waitFor();
    await bob.screenshot('attachments-lightbox-desktop');
    await bob.page.keyboard.press('Escape');
    await lightbox.waitFor({ state: 'detached' });
  });
});
