import type { ConversationSummary, UserProfile } from '@natter/protocol/core';
import { clearDrafts } from './drafts.js';

/** The signed-in account, kept in localStorage so every tab of the browser shares it. */
export interface StoredSession {
  token: string;
  userId: string;
  username: string;
}

const KEY = 'natter.session';

export function loadSession(): StoredSession | null {
  try {
    const parsed = JSON.parse(localStorage.getItem(KEY) ?? 'null') as StoredSession | null;
    return parsed?.token && parsed.userId ? parsed : null;
  } catch {
    return null;
  }
}

export function saveSession(session: StoredSession): void {
  localStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession(): void {
  const userId = loadSession()?.userId;
  localStorage.removeItem(KEY);
  if (!userId) return;
  localStorage.removeItem(cacheKey(userId, 'conversations'));
  localStorage.removeItem(cacheKey(userId, 'profiles'));
  clearDrafts(userId);
}

/** A stable id for this tab: kept across reloads of the tab, different in another tab. */
export function tabDeviceId(): string {
  let id = sessionStorage.getItem('natter.device');
  if (!id) {
    id = `web-${crypto.randomUUID().slice(0, 8)}`;
    sessionStorage.setItem('natter.device', id);
  }
  return id;
}

/** What the app shows when it starts offline, kept per account: its conversation list and names. */
interface Cached {
  conversations: ConversationSummary[];
  profiles: UserProfile[];
}

function cacheKey(userId: string, what: keyof Cached): string {
  return `natter.${what}.${userId}`;
}

export function loadCached<K extends keyof Cached>(userId: string, what: K): Cached[K] {
  try {
    return JSON.parse(localStorage.getItem(cacheKey(userId, what)) ?? '[]') as Cached[K];
  } catch {
    return [];
  }
}

export function saveCached<K extends keyof Cached>(userId: string, what: K, value: Cached[K]): void {
  try {
    localStorage.setItem(cacheKey(userId, what), JSON.stringify(value));
  } catch {
    // Storage full or disabled: starting offline shows less, nothing worse.
  }
}
