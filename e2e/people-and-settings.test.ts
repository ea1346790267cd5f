import { mkdir } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatterHttp } from '../packages/client/src/index.js';
import { startTestServer, type TestServer, uid } from '../packages/server/test/helpers/server.js';
import { chromiumAvailable, launchChromium } from './browser.js';
import { ARTIFACTS, conversationItem, PHONE, pickPerson, WebUser, WIDE_DESKTOP } from './web-app-driver.js';

const enabled = chromiumAvailable();
const POLL = { timeout: 15_000, interval: 50 };
const PASSWORD = 'correct horse battery';

/** The theme the page shows now (`data-theme` on <html>, set before the first paint). */
function themeOf(page: Page): Promise<unknown> {
  return page.evaluate('document.documentElement.dataset.theme');
}

/** The page's background colour, as painted. */
function backgroundOf(page: Page): Promise<unknown> {
  return page.evaluate('getComputedStyle(document.documentElement).backgroundColor');
}

/** A 400×300 photo-like PNG, drawn by the page's own canvas (the test has no image library). */
async function pictureFrom(page: Page): Promise<Buffer> {
  const dataUrl = (await page.evaluate(`(() => {
    const canvas = document.createElement('canvas');
    canvas.width = 400;
    canvas.height = 300;
    const g = canvas.getContext('2d');
    const sky = g.createLinearGradient(0, 0, 0, 300);
    sky.addColorStop(0, '#f7b267');
    sky.addColorStop(1, '#f4845f');
    g.fillStyle = sky;
    g.fillRect(0, 0, 400, 300);
    g.fillStyle = '#3d405b';
    g.beginPath();
    g.arc(200, 170, 70, 0, Math.PI * 2);
    g.fill();
    return canvas.toDataURL('image/png');
  })()`)) as string;
  return Buffer.from(dataUrl.split(',')[1]!, 'base64');
}

/** Someone registered from Node with a display name, to be found in the picker. */
async function registered(base: string, prefix: string, displayName: string): Promise<string> {
  const username = uid(prefix);
  await new NatterHttp(base).register(username, PASSWORD, displayName);
  return username;
}

describe.runIf(enabled)('finding people, your profile and settings, dark mode', () => {
  let server: TestServer;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    server = await startTestServer({ registrationsPerHour: 1000, loginAttemptsPerIpPerMinute: 1000 });
    base = server.httpUrl;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  /** Signs up through the form, with a display name, at the given size. */
  async function signUpNamed(username: string, displayName: string, viewport = WIDE_DESKTOP) {
    const context = await browser.newContext({ viewport });
    context.on('weberror', (error) => console.error(`[${username}] ${error.error().stack}`));
    const page = await context.newPage();
    await page.goto(base);
    await page.getByText('Forgot your password? Ask your Natter administrator to reset it.').waitFor();
    await page.getByRole('button', { name: 'Create an account' }).click();
    await page.getByLabel('Your name').fill(displayName);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    return { context, page };
  }

  it('signs up with a display name, finds people as you type, and builds a group from chips', async () => {
    const stamp = uid('t').slice(2, 8);
    const grace = await registered(base, 'grace', `Grace Hopper${stamp}`);
    const graceK = await registered(base, 'gracek', `Grace Kelly${stamp}`);
    const alan = await registered(base, 'alan', `Alan Turing${stamp}`);

    const adaName = uid('ada');
    const { context, page } = await signUpNamed(adaName, 'Ada Lovelace');
    await page.screenshot({ path: await artifact('people-sign-up-desktop') });
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByRole('button', { name: 'New conversation' }).waitFor();
    // The name chosen at sign-up is the one the app goes by.
    await expect.poll(() => page.locator('.me-names strong').textContent(), POLL).toBe('Ada Lovelace');

    await page.getByRole('button', { name: 'New conversation' }).click();
    await page.getByRole('tab', { name: 'Group' }).click();
    await page.getByLabel('Group name').fill('Computing pioneers');
    const members = page.getByRole('combobox', { name: 'Members' });
    await members.fill('g');
    await page.getByText('Type at least 2 characters.').waitFor();
    await members.fill('grace');
    const options = page.getByRole('option');
    await expect
      .poll(() => options.locator('.person-names').allTextContents(), POLL)
      .toEqual([`Grace Hopper${stamp}@${grace}`, `Grace Kelly${stamp}@${graceK}`]);
    await page.screenshot({ path: await artifact('people-search-desktop') });

    // ↓ then Enter picks the second; Backspace in the empty input takes the last chip back.
    await members.press('ArrowDown');
    await members.press('Enter');
    const chips = page.locator('.chip .chip-name');
    await expect.poll(() => chips.allTextContents(), POLL).toEqual([`Grace Kelly${stamp}`]);
    expect(await members.inputValue()).toBe('');
    await members.fill('alan');
    await page.getByRole('option', { name: new RegExp(`@${alan}`) }).click();
    await expect.poll(() => chips.count(), POLL).toBe(2);
    await members.press('Backspace');
    await expect.poll(() => chips.allTextContents(), POLL).toEqual([`Grace Kelly${stamp}`]);
    await pickPerson(page, 'Members', alan);
    await pickPerson(page, 'Members', grace);
    await expect.poll(() => chips.count(), POLL).toBe(3);
    await page.screenshot({ path: await artifact('people-chips-desktop') });
    // A chip's × removes that person.
    await page.getByRole('button', { name: `Remove Alan Turing${stamp}` }).click();
    await expect.poll(() => chips.count(), POLL).toBe(2);
    await page.getByRole('button', { name: 'Create group with 2 people' }).click();
    await page.getByLabel('Message', { exact: true }).waitFor();
    await expect
      .poll(() => page.locator('.conversation-heading h2').textContent(), POLL)
      .toBe('Computing pioneers');

    // A 1:1 starts on the pick, from a display-name word.
    await page.getByRole('button', { name: 'New conversation' }).click();
    const who = page.getByRole('combobox', { name: 'Who do you want to talk to?' });
    await who.fill(`turing${stamp}`);
    await page.getByRole('option', { name: new RegExp(`@${alan}`) }).waitFor();
    await who.press('Enter');
    await page.getByLabel('Message', { exact: true }).waitFor();
    await expect
      .poll(() => page.locator('.conversation-heading h2').textContent(), POLL)
      .toBe(`Alan Turing${stamp}`);
    await context.close();
  });

  it('settings: rename, a photo others see, theme by hand and by system, log out there', async () => {
    const friend = await WebUser.signUp(browser, base, uid('friend'), WIDE_DESKTOP);
    const { context, page } = await signUpNamed(uid('me'), 'Marie Curie');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByRole('button', { name: 'New conversation' }).click();
    await pickPerson(page, 'Who do you want to talk to?', friend.username);
    await page.getByLabel('Message', { exact: true }).fill('Bonjour');
    await page.getByLabel('Message', { exact: true }).press('Enter');

    // No log out in the header any more: it is in settings, opened from your avatar or the gear.
    expect(await page.getByRole('button', { name: 'Log out' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    const settings = page.getByRole('dialog', { name: 'Settings' });
    await settings.waitFor();
    expect(await page.evaluate('document.activeElement?.closest("label")?.textContent')).toMatch(
      /^Display name/,
    );

    await settings.getByLabel('Display name').fill('Marie Skłodowska-Curie');
    await settings.getByRole('button', { name: 'Save' }).click();
    await settings.getByText('Name saved.').waitFor();
    await expect
      .poll(() => page.locator('.me-names strong').textContent(), POLL)
      .toBe('Marie Skłodowska-Curie');

    await settings.getByLabel('Photo file').setInputFiles({
      name: 'me.png',
      mimeType: 'image/png',
      buffer: await pictureFrom(page),
    });
    await settings.getByText('Photo updated.').waitFor();
    const photo = settings.locator('.profile-card .avatar img');
    await expect
      .poll(() => photo.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth), POLL)
      .toBe(128);
    await expect.poll(() => page.locator('.sidebar-header .avatar img').count(), POLL).toBe(1);
    await settings.getByRole('button', { name: 'Remove photo' }).waitFor();
    await page.screenshot({ path: await artifact('settings-desktop') });

    // The theme by hand: dark at once, and still dark after a reload (applied before first paint).
    expect(await themeOf(page)).toBe('light');
    await settings.getByRole('radio', { name: 'Dark' }).click();
    expect(await themeOf(page)).toBe('dark');
    expect(await backgroundOf(page)).toBe('rgb(15, 17, 23)');
    await page.screenshot({ path: await artifact('settings-dark-desktop') });
    await page.keyboard.press('Escape');
    await expect.poll(() => settings.count(), POLL).toBe(0);
    await page.reload();
    expect(await themeOf(page)).toBe('dark');
    await page.getByRole('button', { name: 'New conversation' }).waitFor();
    await page.screenshot({ path: await artifact('chat-dark-desktop') });

    // The friend sees the new name and the photo at their next load.
    await friend.page.reload();
    const row = conversationItem(friend.page, 'Marie Skłodowska-Curie');
    await row.waitFor(POLL);
    await expect.poll(() => row.locator('.avatar img').count(), POLL).toBe(1);
    await friend.open('Marie Skłodowska-Curie');
    await friend.screenshot('friend-sees-name-and-photo-desktop');

    // Back to the system's theme; log out from settings.
    await page.getByRole('button', { name: 'Your profile and settings' }).click();
    await settings.getByRole('radio', { name: 'System' }).click();
    expect(await themeOf(page)).toBe('light');
    await settings.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    await context.close();
    await friend.close();
  });

  it('follows a dark system setting, at desktop and phone widths, settings full-screen on a phone', async () => {
    for (const [viewport, size] of [
      [WIDE_DESKTOP, 'desktop'],
      [PHONE, 'phone'],
    ] as const) {
      const context = await browser.newContext({ viewport, colorScheme: 'dark' });
      const page = await context.newPage();
      await page.goto(base);
      expect(await themeOf(page)).toBe('dark');
      await page.getByRole('button', { name: 'Log in' }).waitFor();
      await page.screenshot({ path: await artifact(`login-dark-${size}`) });
      await context.close();
    }

    const friend = await registered(base, 'pal', 'Pat Pal');
    const { context, page } = await signUpNamed(uid('phone'), 'Phone Person', PHONE);
    await page.emulateMedia({ colorScheme: 'dark' });
    await expect.poll(() => themeOf(page), POLL).toBe('dark');
    await page.screenshot({ path: await artifact('people-sign-up-phone-dark') });
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByRole('button', { name: 'New conversation' }).click();
    await page.getByRole('combobox', { name: 'Who do you want to talk to?' }).fill('pat');
    await page.getByRole('option', { name: new RegExp(`@${friend}`) }).waitFor();
    await page.screenshot({ path: await artifact('people-search-phone-dark') });
    await page.getByRole('option', { name: new RegExp(`@${friend}`) }).click();
    await page.getByLabel('Message', { exact: true }).waitFor();
    await page.screenshot({ path: await artifact('chat-phone-dark') });
    await page.getByRole('button', { name: 'Back to conversations' }).click();

    // The system turning light turns the app light (no choice was made by hand).
    await page.emulateMedia({ colorScheme: 'light' });
    await expect.poll(() => themeOf(page), POLL).toBe('light');
    await page.getByRole('button', { name: 'Your profile and settings' }).click();
    const settings = page.getByRole('dialog', { name: 'Settings' });
    await settings.waitFor();
    const box = await settings.boundingBox();
    expect(box).toMatchObject({ x: 0, y: 0, width: PHONE.width, height: PHONE.height });
    await page.screenshot({ path: await artifact('settings-phone') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await expect.poll(() => themeOf(page), POLL).toBe('dark');
    await page.screenshot({ path: await artifact('settings-phone-dark') });
    await page.keyboard.press('Escape');
    await expect.poll(() => settings.count(), POLL).toBe(0);
    await context.close();
  });
});

async function artifact(name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  return `${ARTIFACTS}${name}.png`;
}
