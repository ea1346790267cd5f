import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, uid } from '../packages/server/test/helpers/server.js';
import { chromiumAvailable, launchChromium } from './browser.js';
import { messageTexts, messageWith, PHONE, WebUser, WIDE_DESKTOP } from './web-app-driver.js';

const enabled = chromiumAvailable();
const POLL = { timeout: 15_000, interval: 50 };

function composer(page: Page) {
  return page.getByLabel('Message', { exact: true });
}

function status(page: Page) {
  return page.locator('.conversation-status').textContent();
}

/** The accessible name (or text) of whatever has the keyboard focus. */
function focused(page: Page): Promise<string | null> {
  // Runs in the page, where `document` exists (the test's own types are Node's).
  return page.evaluate(() => {
    type Focusable = { getAttribute(name: string): string | null; textContent: string | null };
    const active = (globalThis as unknown as { document: { activeElement: Focusable | null } }).document
      .activeElement;
    return active?.getAttribute('aria-label') ?? active?.textContent ?? null;
  });
}

/**
 * Message actions (issue 10 item 7): the hover toolbar on desktop, the long-press sheet on phones,
 * the app's own confirmation dialog, ↑ to edit your last message, the edited message highlighted,
 * and the typing indicator cleared the moment an edit is saved.
 */
describe.runIf(enabled)('message actions in a real browser', () => {
  let server: TestServer;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    // Typing lasts a minute on the server: only a stop (not the TTL) can clear it within the test.
    server = await startTestServer({ registrationsPerHour: 1000, typingTtlMs: 60_000 });
    base = server.httpUrl;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  it('desktop: hover toolbar, ↑ edits the last message (highlighted), saving clears typing at once, delete asks in the app', async () => {
    const bob = await WebUser.signUp(browser, base, uid('bob'));
    const alice = await WebUser.signUp(browser, base, uid('alice'), WIDE_DESKTOP);
    await alice.startDirect(bob.username);
    await alice.send('Lunch at noon?');
    await alice.send('Or at one?');
    await bob.open(alice.username);
    await bob.send('Noon works');
    await expect.poll(() => messageTexts(alice.page), POLL).toContain('Noon works');

    // Hovering a message shows its toolbar: icon buttons with names, the time of a message inside a run.
    await messageWith(alice.page, 'Lunch at noon?').hover();
    const toolbar = messageWith(alice.page, 'Lunch at noon?').getByRole('toolbar', {
      name: 'Message actions',
    });
    await expect.poll(() => toolbar.isVisible(), POLL).toBe(true);
    for (const name of ['React with 👍', 'Add reaction', 'Reply', 'Reply in thread', 'More actions']) {
      expect(await toolbar.getByRole('button', { name, exact: true }).isVisible()).toBe(true);
    }
    expect(await toolbar.locator('time').isVisible()).toBe(true);
    await alice.screenshot('actions-hover-toolbar');

    // ↑ in the empty composer edits Alice's last message: highlighted, with a hint in the composer.
    await composer(alice.page).click();
    await composer(alice.page).press('ArrowUp');
    const editor = alice.page.getByLabel('Edit your message');
    await expect.poll(() => editor.inputValue(), POLL).toBe('Or at one?');
    expect(await messageWith(alice.page, 'Or at one?').getAttribute('class')).toContain('editing');
    expect(await alice.page.locator('.composer-context').textContent()).toContain(
      'Editing message · Esc to cancel',
    );
    // Escape cancels, and ↑ starts again.
    await editor.press('Escape');
    await composer(alice.page).waitFor();
    expect(await alice.page.locator('.message.editing').count()).toBe(0);
    await composer(alice.page).press('ArrowUp');

    // Typing the edit shows on Bob's side; saving it clears "typing" there at once (the server's
    // typing lasts a minute here, and the app's own idle stop would take 5 s).
    await editor.pressSequentially(' Or half past');
    await alice.screenshot('actions-editing');
    await expect.poll(() => status(bob.page), POLL).toContain('typing');
    await editor.press('Enter');
    await expect.poll(() => messageTexts(bob.page), POLL).toContain('Or at one? Or half past');
    await expect.poll(() => status(bob.page), { timeout: 2_500, interval: 50 }).not.toContain('typing');
    expect(await alice.page.locator('.message.editing').count()).toBe(0);

    // Delete asks in the app's own dialog: focus on "Delete", Tab stays inside, Escape cancels and
    // gives the focus back.
    const menu = await alice.openMessageActions('Lunch at noon?');
    await menu.getByRole('button', { name: 'Delete message' }).click();
    const dialog = alice.page.getByRole('alertdialog', { name: 'Delete this message for everyone?' });
    await dialog.waitFor();
    await expect.poll(() => focused(alice.page), POLL).toBe('Delete');
    await alice.screenshot('actions-confirm-dialog');
    await alice.page.keyboard.press('Tab');
    expect(await focused(alice.page)).toBe('Cancel');
    await alice.page.keyboard.press('Tab');
    expect(await focused(alice.page)).toBe('Delete');
    await alice.page.keyboard.press('Escape');
    await expect.poll(() => dialog.count(), POLL).toBe(0);
    await expect.poll(() => focused(alice.page), POLL).toBe('More actions');
    expect(await messageTexts(alice.page)).toContain('Lunch at noon?');

    await (await alice.openMessageActions('Lunch at noon?'))
      .getByRole('button', { name: 'Delete message' })
      .click();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => messageTexts(bob.page), POLL).toContain('This message was deleted');
    await alice.close();
    await bob.close();
  }, 90_000);

  it('phone: a long-press opens the action sheet (44 px targets), a moving finger does not; delete confirms in a sheet-like dialog', async () => {
    const alice = await WebUser.signUp(browser, base, uid('alice'));
    const bob = await WebUser.signUp(browser, base, uid('bob'), PHONE);
    await alice.startDirect(bob.username);
    await alice.send('Are you coming tonight?');
    await bob.open(alice.username);
    await bob.send('Yes, at eight');

    // A finger that moves (a scroll) is not a press.
    const bubble = messageWith(bob.page, 'Are you coming tonight?').locator('.bubble');
    const box = await bubble.boundingBox();
    if (!box) throw new Error('the message is not on screen');
    await bob.page.mouse.move(box.x + 20, box.y + box.height / 2);
    await bob.page.mouse.down();
    await bob.page.mouse.move(box.x + 20, box.y + box.height / 2 + 40, { steps: 4 });
    await bob.page.waitForTimeout(700);
    await bob.page.mouse.up();
    expect(await bob.page.getByRole('dialog', { name: 'Message actions' }).count()).toBe(0);

    const sheet = await bob.longPress('Are you coming tonight?');
    await sheet.waitFor();
    const heights = await sheet
      .locator('.menu-action')
      .evaluateAll((buttons) => buttons.map((b) => b.getBoundingClientRect().height));
    expect(heights.length).toBeGreaterThanOrEqual(3);
    for (const height of heights) expect(height).toBeGreaterThanOrEqual(44);
    await bob.screenshot('actions-phone-sheet');
    await sheet.getByRole('button', { name: 'Reply', exact: true }).click();
    await bob.page.locator('.composer-context.reply').waitFor();
    await bob.page.getByRole('button', { name: 'Cancel reply' }).click();

    // His own message: delete, confirmed in the app's dialog (full-width buttons on a phone).
    const own = await bob.longPress('Yes, at eight');
    await own.getByRole('button', { name: 'Delete message' }).click();
    const dialog = bob.page.getByRole('alertdialog', { name: 'Delete this message for everyone?' });
    await dialog.waitFor();
    const cancel = await dialog.getByRole('button', { name: 'Cancel' }).boundingBox();
    expect(cancel?.height ?? 0).toBeGreaterThanOrEqual(44);
    await bob.screenshot('actions-phone-confirm');
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => messageTexts(alice.page), POLL).toContain('This message was deleted');
    await alice.close();
    await bob.close();
  }, 90_000);
});
