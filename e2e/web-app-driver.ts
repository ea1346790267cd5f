import { mkdir } from 'node:fs/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';

/** Where browser tests leave screenshots for people to look at (git-ignored). */
export const ARTIFACTS = new URL('../test-artifacts/web/', import.meta.url).pathname;

const PASSWORD = 'correct horse battery';

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/**
 * Drives the web app the way a person does: through labels and roles, never through app internals.
 */
export class WebUser {
  private constructor(
    readonly username: string,
    readonly context: BrowserContext,
    readonly page: Page,
  ) {}

  /** A new browser profile (its own storage) with the user signed up and signed in. */
  static async signUp(
    browser: Browser,
    baseUrl: string,
    username: string,
    viewport = DESKTOP,
  ): Promise<WebUser> {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    const user = new WebUser(username, context, page);
    await page.goto(baseUrl);
    await page.getByRole('button', { name: 'Create an account' }).click();
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByRole('button', { name: 'New conversation' }).waitFor();
    return user;
  }

  /** Another tab of the same browser profile: the same account on another device. */
  async openTab(baseUrl: string): Promise<Page> {
    const page = await this.context.newPage();
    await page.goto(baseUrl);
    await page.getByRole('button', { name: 'New conversation' }).waitFor();
    return page;
  }

  async startDirect(username: string): Promise<void> {
    await this.page.getByRole('button', { name: 'New conversation' }).click();
    await this.page.getByRole('dialog').getByLabel('Username').fill(username);
    await this.page.getByRole('button', { name: 'Start chat' }).click();
    await this.page.getByLabel('Message', { exact: true }).waitFor();
  }

  async createGroup(title: string, usernames: string[]): Promise<void> {
    await this.page.getByRole('button', { name: 'New conversation' }).click();
    await this.page.getByRole('tab', { name: 'Group' }).click();
    await this.page.getByLabel('Group name').fill(title);
    await this.page.getByLabel(/^Members/).fill(usernames.join(', '));
    await this.page.getByRole('button', { name: 'Create group' }).click();
    await this.page.getByLabel('Message', { exact: true }).waitFor();
  }

  /** Opens a conversation from the list by its title. */
  async open(title: string, page = this.page): Promise<void> {
    await conversationItem(page, title).click();
    await page.getByLabel('Message', { exact: true }).waitFor();
  }

  async send(text: string, page = this.page): Promise<void> {
    const input = page.getByLabel('Message', { exact: true });
    await input.fill(text);
    await input.press('Enter');
  }

  async screenshot(name: string, page = this.page): Promise<void> {
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}${name}.png` });
  }

  close(): Promise<void> {
    return this.context.close();
  }
}

export function conversationItem(page: Page, title: string) {
  return page.locator('.conversation-item', { has: page.locator('.conversation-title', { hasText: title }) });
}

/** The texts of the messages in the open conversation, in display order. */
export function messageTexts(page: Page): Promise<string[]> {
  return page.locator('.message .bubble-text').allTextContents();
}

/** The open conversation's timeline as text: each message's text and each notice line, in order. */
export function timelineLines(page: Page): Promise<string[]> {
  return page.locator('.message .bubble-text, .notice').allTextContents();
}

/** The tick state of your own message with this text. */
export function statusOf(page: Page, text: string) {
  return page.locator('.message.mine', { has: page.locator('.bubble-text', { hasText: text }) });
}

/** The session token the app stored for this browser profile (to drive the same account from Node). */
export async function storedToken(page: Page): Promise<string> {
  // Runs in the page, where localStorage exists (the test's own types are Node's).
  const stored = await page.evaluate(() =>
    (globalThis as unknown as { localStorage: { getItem(key: string): string | null } }).localStorage.getItem(
      'natter.session',
    ),
  );
  return (JSON.parse(stored ?? '{}') as { token: string }).token;
}
