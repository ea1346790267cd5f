import { deflateSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, uid } from '../packages/server/test/helpers/server.js';
import { chromiumAvailable, launchChromium } from './browser.js';
import { DESKTOP, messageWith, WebUser } from './web-app-driver.js';

const enabled = chromiumAvailable();
const POLL = { timeout: 15_000, interval: 50 };

/** A width x height PNG of a dusk gradient (RGB, no filter), built here so the test needs no fixture file. */
function gradientPng(width: number, height: number): Buffer {
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x++) {
      const at = row + 1 + x * 3;
      rows[at] = 40 + Math.round((200 * y) / height);
      rows[at + 1] = 60 + Math.round((80 * x) / width);
      rows[at + 2] = 160 - Math.round((100 * y) / height);
    }
  }
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

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
