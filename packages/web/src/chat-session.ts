import {
  ChatState,
  type ClientState,
  IndexedDbOutboxStorage,
  NatterClient,
  NatterHttp,
  type Transport,
  TypingNotifier,
} from '@natter/client';
import type { AttachmentRef, ConversationSummary, PresenceState } from '@natter/protocol/core';
import { AvatarImages } from './avatar-images.js';
import { Profiles } from './profiles.js';
import { loadCached, type StoredSession, saveCached, tabDeviceId } from './stored-session.js';

/**
 * Everything a signed-in tab holds: the HTTP API, the live client with its IndexedDB outbox, the
 * folded chat state and the names of people. Screens subscribe and select the slice they show
 * (`useSession`): `ChatState`'s versions and cached arrays tell them whether it changed.
 */
export class ChatSession {
  readonly http: NatterHttp;
  readonly client: NatterClient;
  readonly state: ChatState;
  readonly profiles: Profiles;
  readonly avatars: AvatarImages;
  private readonly typers = new Map<string, TypingNotifier>();
  private readonly listeners = new Set<() => void>();
  private saveTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly account: StoredSession,
    onSignedOut: () => void,
  ) {
    this.http = new NatterHttp(location.origin, () => account.token);
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    this.client = new NatterClient({
      url: `${scheme}://${location.host}/ws`,
      token: account.token,
      deviceId: tabDeviceId(),
      userId: account.userId,
      outbox: new IndexedDbOutboxStorage(outboxName(account.userId)),
    });
    this.state = new ChatState(this.client, {
      members: async (id) => (await this.http.conversation(id)).members,
    });
    this.profiles = new Profiles(this.http, {
      load: () => loadCached(account.userId, 'profiles'),
      save: (profiles) => saveCached(account.userId, 'profiles', profiles),
    });
    this.profiles.seed({
      user_id: account.userId,
      username: account.username,
      display_name: null,
      avatar: null,
    });
    this.avatars = new AvatarImages(this.http, () => this.changed());
    this.state.on('change', () => this.changed());
    this.client.on('state', () => this.changed());
    this.client.on('transport', () => this.changed());
    this.client.on('fatal', onSignedOut);
    this.profiles.subscribe(() => this.changed());
  }

  get connection(): ClientState {
    return this.client.state;
  }

  /** How the last connection reached the server (a WebSocket, or the HTTP fallback). */
  get transport(): Transport | undefined {
    return this.client.transport;
  }

  /** Moves when a name, a photo or a presence may read differently (presence shows only while live). */
  get peopleVersion(): string {
    return `${this.profiles.version}:${this.avatars.version}:${this.state.presenceVersion}:${this.client.state === 'live'}`;
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Shows the conversation list saved last time (so the app works offline), then connects. */
  start(): Promise<void> {
    this.state.restore(loadCached(this.account.userId, 'conversations'));
    // At most one save per half second however busy the conversations are, and one when the page goes.
    this.state.on('change', () => {
      this.saveTimer ??= setTimeout(this.saveConversations, 500);
    });
    addEventListener('pagehide', this.saveConversations);
    return this.client.connect();
  }

  close(): void {
    removeEventListener('pagehide', this.saveConversations);
    clearTimeout(this.saveTimer);
    for (const typer of this.typers.values()) typer.stop();
    this.state.close();
    this.client.close();
    this.avatars.close();
  }

  /** The image of a user's avatar, once fetched (undefined: show initials). */
  avatarUrlOf(userId: string): string | undefined {
    return this.avatars.urlOf(userId, this.profiles.avatarOf(userId));
  }

  /** Logs out and leaves nothing of the account in this browser, unsent messages included. */
  async signOut(): Promise<void> {
    await this.http.logout().catch(() => {});
    this.close();
    indexedDB.deleteDatabase(outboxName(this.account.userId));
  }

  /** Keystrokes in a conversation's composer, debounced into typing start/stop. */
  typer(conversationId: string): TypingNotifier {
    let typer = this.typers.get(conversationId);
    if (!typer) {
      // A channel has no typing (docs/protocol.md §10.19): nothing to tell the server.
      typer = new TypingNotifier((state) => {
        if (this.state.conversation(conversationId)?.kind !== 'channel')
          this.client.typing(conversationId, state);
      });
      this.typers.set(conversationId, typer);
    }
    return typer;
  }

  send(
    conversationId: string,
    body: string,
    options: {
      replyTo?: number;
      mentions?: string[];
      threadRoot?: number;
      attachments?: AttachmentRef[];
    } = {},
  ): void {
    this.typer(conversationId).stop();
    void this.client.send(conversationId, body, options);
  }

  /** Saves an edit of your message at `seq`; like a send, it ends your typing at once. */
  async edit(conversationId: string, seq: number, body: string): Promise<void> {
    this.typer(conversationId).stop();
    await this.client.edit(conversationId, seq, body);
  }

  /** Presence as last heard, only while connected: offline, nobody can be vouched for as online. */
  presenceOf(userId: string): PresenceState | undefined {
    return this.client.state === 'live' ? this.state.presenceOf(userId) : undefined;
  }

  /** The name a conversation goes by: its title, or the other person's name in a 1:1. */
  titleOf(summary: ConversationSummary): string {
    if (summary.kind !== 'direct') return summary.title ?? (summary.kind === 'channel' ? 'Channel' : 'Group');
    if (!summary.peer_id || summary.peer_id === this.account.userId) return 'Notes to self';
    return this.profiles.nameOf(summary.peer_id);
  }

  /**
   * What follows "@" when mentioning a user: the username, else (a JWT user has none) the name
   * with its spaces turned into underscores. The composer inserts it and message text highlights it.
   */
  handleOf(userId: string): string {
    const name = this.profiles.nameOf(userId);
    return this.profiles.usernameOf(userId) ?? name.replace(/\s+/g, '_');
  }

  private readonly saveConversations = (): void => {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    saveCached(this.account.userId, 'conversations', this.state.conversations().slice(0, 200));
  };

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}

function outboxName(userId: string): string {
  return `natter-outbox-${userId}`;
}
