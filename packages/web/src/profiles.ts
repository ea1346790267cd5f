import type { NatterHttp } from '@natter/client';
import type { UserProfile } from '@natter/protocol/core';

/** The server answers at most this many ids per lookup. */
const LOOKUP_BATCH = 256;
const RETRY_AFTER_MS = 10_000;

/**
 * Names for user ids, looked up in batches as the screens ask for them: every id asked for in one
 * turn of the event loop goes out in one request. Names found are kept in `storage`, so an app
 * started offline still shows who is who; each is looked up again once per start, which is when
 * a renamed user's new name (or avatar) shows (the server pushes no profile changes).
 */
export class Profiles {
  private readonly known = new Map<string, UserProfile>();
  private readonly asked = new Set<string>();
  private batch = new Set<string>();
  private readonly listeners = new Set<() => void>();
  private lookups = 0;

  constructor(
    private readonly http: NatterHttp,
    private readonly storage: { load(): UserProfile[]; save(profiles: UserProfile[]): void },
  ) {
    for (const profile of storage.load()) this.known.set(profile.user_id, profile);
  }

  /** Grows whenever what is known of people changes: looked-up names arriving, or your own edit. */
  get version(): number {
    return this.lookups;
  }

  remember(profile: UserProfile): void {
    this.known.set(profile.user_id, profile);
  }

  /** What to show for a user until their profile is looked up (yours, on a first start offline). */
  seed(profile: UserProfile): void {
    if (!this.known.has(profile.user_id)) this.known.set(profile.user_id, profile);
  }

  /** The best name known now (display name, then username); starts this start's lookup of the id. */
  nameOf(userId: string): string {
    this.request(userId);
    const profile = this.known.get(userId);
    return profile?.display_name ?? profile?.username ?? shortId(userId);
  }

  /** The display name the user set, if any (null: they go by their username). */
  displayNameOf(userId: string): string | null {
    return this.known.get(userId)?.display_name ?? null;
  }

  /** Whether the user is a bot (an automated sender), as far as known now. */
  isBot(userId: string): boolean {
    this.request(userId);
    return this.known.get(userId)?.bot === true;
  }

  /** The version of the user's avatar, null when they have none (or are not looked up yet). */
  avatarOf(userId: string): string | null {
    this.request(userId);
    return this.known.get(userId)?.avatar ?? null;
  }

  /** A profile the app learned by itself (yours after an edit, a search result): shown at once. */
  update(profile: UserProfile): void {
    this.remember(profile);
    this.lookups += 1;
    this.storage.save([...this.known.values()]);
    for (const listener of this.listeners) listener();
  }

  usernameOf(userId: string): string | null {
    return this.known.get(userId)?.username ?? null;
  }

  async byUsername(username: string): Promise<UserProfile | null> {
    const [profile] = await this.http.lookupUsers({ usernames: [username] });
    if (profile) this.remember(profile);
    return profile ?? null;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private request(userId: string): void {
    if (this.asked.has(userId)) return;
    this.asked.add(userId);
    this.batch.add(userId);
    if (this.batch.size > 1) return;
    queueMicrotask(() => void this.flush());
  }

  private async flush(): Promise<void> {
    const ids = [...this.batch];
    this.batch = new Set();
    for (let start = 0; start < ids.length; start += LOOKUP_BATCH) {
      const chunk = ids.slice(start, start + LOOKUP_BATCH);
      try {
        for (const profile of await this.http.lookupUsers({ userIds: chunk })) this.remember(profile);
      } catch {
        // Offline or refused: ask again a little later (not at every render) when still needed.
        setTimeout(() => {
          for (const id of chunk) this.asked.delete(id);
        }, RETRY_AFTER_MS);
      }
    }
    this.storage.save([...this.known.values()]);
    this.lookups += 1;
    for (const listener of this.listeners) listener();
  }
}

function shortId(userId: string): string {
  return userId.length > 12 ? `${userId.slice(0, 10)}…` : userId;
}
