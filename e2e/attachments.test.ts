import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gradientPng } from '../packages/server/test/helpers/images.js';
import { startTestServer, type TestServer, uid } from '../packages/server/test/helpers/server.js';
import { chromiumAvailable, launchChromium } from './browser.js';
import { DESKTOP, messageWith, PHONE, WebUser } from './web-app-driver.js';

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

  it('phone: a file dropped on the composer and an image pasted are attached; one removed from the tray is not sent', async () => {
    const alice = await WebUser.signUp(browser, base, uid('alice'), PHONE);
    const bob = await WebUser.signUp(browser, base, uid('bob'), DESKTOP);
    await alice.startDirect(bob.username);
    const page = alice.page;
    const png = gradientPng(200, 100).toString('base64');
    // A DataTransfer holding files, as the browser builds one for a drop or a paste.
    const transfer = (name: string, type: string, base64: string) =>
      page.evaluateHandle(`(() => {
        const data = new DataTransfer();
        const bytes = Uint8Array.from(atob('${base64}'), (c) => c.charCodeAt(0));
        data.items.add(new File([bytes], '${name}', { type: '${type}' }));
        return data;
      })()`);

    await page.locator('form.composer').dispatchEvent('drop', {
      dataTransfer: await transfer(
        'notes.txt',
        'text/plain',
        Buffer.from('pack the tent').toString('base64'),
      ),
    });
    const tray = page.getByRole('list', { name: 'Attachments' });
    await tray.getByRole('button', { name: 'Remove notes.txt' }).waitFor(POLL);
    // Playwright's dispatchEvent makes a plain Event of a paste: the page makes a real ClipboardEvent.
    await page.evaluate(`(() => {
      const data = new DataTransfer();
      const bytes = Uint8Array.from(atob('${png}'), (c) => c.charCodeAt(0));
      data.items.add(new File([bytes], 'screenshot.png', { type: 'image/png' }));
      document.querySelector('textarea[aria-label="Message"]')
        .dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    })()`);
    await tray.getByRole('button', { name: 'Remove screenshot.png' }).waitFor(POLL);
    await alice.screenshot('attachments-tray-phone');

    // Taken out of the tray before sending: only the pasted image goes with the message.
    await tray.getByRole('button', { name: 'Remove notes.txt' }).click();
    await expect.poll(() => tray.getByRole('button').count(), POLL).toBe(1);
    await alice.send('Pasted from my phone');

    await bob.open(alice.username);
    const message = messageWith(bob.page, 'Pasted from my phone');
    await message.getByRole('button', { name: 'Open screenshot.png' }).waitFor(POLL);
    expect(await message.locator('.attachment-file-name').count()).toBe(0);
    await Promise.all([alice.close(), bob.close()]);
  });
});
