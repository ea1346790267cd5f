import { mkdir } from 'node:fs/promises';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';

/** Where browser tests leave screenshots for people to look at (git-ignored). */
export const ARTIFACTS = new URL('../test-artifacts/web/', import.meta.url).pathname;

const PASSWORD = 'correct horse battery';

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };
/** The desktop of the product review (issue 10). */
export const WIDE_DESKTOP = { width: 1440, height: 900 };

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
    // An exception in the app shows in the test's output, not only as a blank screen.
    context.on('weberror', (error) => console.error(`[${username}] ${error.error().stack}`));
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

  /** Starts (or reopens) the 1:1 with a user: searched by username in the people picker, then picked. */
  async startDirect(username: string): Promise<void> {
    await this.page.getByRole('button', { name: 'New conversation' }).click();
    await pickPerson(this.page, 'Who do you want to talk to?', username);
    await this.page.getByLabel('Message', { exact: true }).waitFor();
  }

  async createGroup(title: string, usernames: string[]): Promise<void> {
    await this.page.getByRole('button', { name: 'New conversation' }).click();
    await this.page.getByRole('tab', { name: 'Group' }).click();
    await this.page.getByLabel('Group name').fill(title);
    for (const username of usernames) await pickPerson(this.page, 'Members', username);
    await this.page.getByRole('button', { name: /^Create group/ }).click();
    await this.page.getByLabel('Message', { exact: true }).waitFor();
  }

  /** Opens a conversation from the list by its title. */
  async open(title: string, page = this.page): Promise<void> {
    await conversationItem(page, title).click();
    // The header names the conversation once it is the open one (another one's composer may still show).
    await page.locator('.conversation-header h2', { hasText: title }).waitFor();
    await page.getByLabel('Message', { exact: true }).waitFor();
  }

  async send(text: string, page = this.page): Promise<void> {
    const input = page.getByLabel('Message', { exact: true });
    await input.fill(text);
    await input.press('Enter');
  }

  /** Reacts with one of the toolbar's quick emoji on the message with this text (desktop). */
  async react(text: string, emoji: string, page = this.page): Promise<void> {
    const message = messageWith(page, text);
    await message.hover();
    await message
      .getByRole('toolbar', { name: 'Message actions' })
      .getByRole('button', { name: `React with ${emoji}` })
      .click();
  }

  /** Opens the actions of the message with this text through its "More actions" button: a menu on desktop, a sheet on phones. */
  async openMessageActions(text: string, page = this.page): Promise<Locator> {
    const message = messageWith(page, text);
    await message.locator('.bubble').focus();
    await message.getByRole('button', { name: 'More actions' }).click();
    return page.getByRole('dialog', { name: 'Message actions' });
  }

  /** Presses and holds the message with this text, as a finger does on a phone, until its action sheet opens. */
  async longPress(text: string, page = this.page): Promise<Locator> {
    const box = await messageWith(page, text).locator('.bubble').boundingBox();
    if (!box) throw new Error(`no message "${text}" on screen`);
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    // Held until the sheet opens (at 500 ms, later on a busy machine), then let go.
    const sheet = page.getByRole('dialog', { name: 'Message actions' });
    await sheet.waitFor({ timeout: 10_000 });
    await page.mouse.up();
    return sheet;
  }

  /** The id of the conversation open in `page` (from its address). */
  async openConversationId(page = this.page): Promise<string> {
    const match = /#c=(.+)$/.exec(page.url());
    if (!match) throw new Error('no conversation is open');
    return decodeURIComponent(match[1]!);
  }

  async screenshot(name: string, page = this.page): Promise<void> {
    await mkdir(ARTIFACTS, { recursive: true });
    // Animations (a dialog fading in) end at once: the picture shows the screen as it settles.
    await page.screenshot({ path: `${ARTIFACTS}${name}.png`, animations: 'disabled' });
  }

  close(): Promise<void> {
    return this.context.close();
  }
}

/** Types a username into the people picker labelled `label` and picks that user from the results. */
export async function pickPerson(page: Page, label: string, username: string): Promise<void> {
  await page.getByRole('combobox', { name: label }).fill(username);
  await page
    .getByRole('option')
    .filter({ hasText: `@${username}` })
    .click();
}

export function conversationItem(page: Page, title: string) {
  return page.locator('.conversation-item', { has: page.locator('.conversation-title', { hasText: title }) });
}

/** The open conversation's message list (a thread's panel beside it shows messages too). */
export function messageLog(page: Page): Locator {
  return page.getByRole('log', { name: 'Messages', exact: true });
}

/** How far (px) the open conversation's message list is scrolled up from its bottom. */
export function scrolledUpBy(page: Page): Promise<number> {
  return messageLog(page).evaluate((log) => log.scrollHeight - log.scrollTop - log.clientHeight);
}

/** Whether the (first) element of `locator` is wholly inside the visible part of the message list. */
export async function inMessageView(page: Page, locator: Locator): Promise<boolean> {
  if ((await locator.count()) === 0) return false;
  const [box, view] = await Promise.all([locator.first().boundingBox(), messageLog(page).boundingBox()]);
  if (!box || !view) return false;
  return box.y >= view.y - 1 && box.y + box.height <= view.y + view.height + 1;
}

/** The texts of the messages in the open conversation, in display order. */
export function messageTexts(page: Page): Promise<string[]> {
  return page.locator('.message .bubble-text').allTextContents();
}

/** The open conversation's timeline as text: each message's text and each notice line, in order. */
export function timelineLines(page: Page): Promise<string[]> {
  return page.locator('.message .bubble-text, .notice').allTextContents();
}

/** The message (bubble, actions and reactions) whose own text contains `text` (a quote of it does not count). */
export function messageWith(page: Page, text: string): Locator {
  return page.locator('.message', { has: page.locator('.bubble-text', { hasText: text }) });
}

/** The reaction chips under the message with this text, as they read: "👍 2, you reacted". */
export function reactionsOf(page: Page, text: string): Promise<string[]> {
  return messageWith(page, text)
    .locator('.reaction-chip')
    .evaluateAll((chips) => chips.map((chip) => chip.getAttribute('aria-label') ?? ''));
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
