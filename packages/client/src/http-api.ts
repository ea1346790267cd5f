import {
  type AttachmentRef,
  type ChatEvent,
  type ConversationSummary,
  type DownloadTicket,
  type ErrorCode,
  type FoundUser,
  type GroupMentionPolicy,
  type MemberInfo,
  NatterError,
  type PostingPolicy,
  type PushConfigAnswer,
  type PushDeviceBody,
  type Role,
  type UploadTicket,
  type UserProfile,
} from '@natter/protocol/core';
import { putBytes, type UploadOptions } from './attachment-upload.js';

export interface Session {
  token: string;
  user_id: string;
  expires_at: number;
}

/**
 * The HTTP half of the API (docs/protocol.md §11): accounts and conversation management. Errors
 * become NatterErrors with the server's code. `token` is read at every call, so it can change.
 */
export class NatterHttp {
  constructor(
    private readonly baseUrl: string,
    private readonly token: () => string | undefined = () => undefined,
  ) {}

  register(username: string, password: string, displayName?: string): Promise<UserProfile> {
    return this.call('POST', '/v1/accounts', {
      username,
      password,
      ...(displayName === undefined ? {} : { display_name: displayName }),
    });
  }

  login(username: string, password: string): Promise<Session> {
    return this.call('POST', '/v1/sessions', { username, password });
  }

  async logout(): Promise<void> {
    await this.call('DELETE', '/v1/sessions/current');
  }

  me(): Promise<UserProfile> {
    return this.call('GET', '/v1/me');
  }

  /** Sets your display name (null removes it); others see it at their next lookup of you. */
  setDisplayName(displayName: string | null): Promise<UserProfile> {
    return this.call('PATCH', '/v1/me', { display_name: displayName });
  }

  /** Uploads your avatar: a PNG, JPEG, GIF or WebP of at most MAX_AVATAR_BYTES (resize first). */
  setAvatar(image: Blob | Uint8Array<ArrayBuffer>): Promise<UserProfile> {
    return this.call('PUT', '/v1/me/avatar', image);
  }

  /**
   * Uploads one file for a message (protocol §11.7): asks for an upload, then sends the bytes,
   * again after an interruption. Send the returned ref with `NatterClient.send(..., { attachments })`.
   */
  async uploadAttachment(
    file: { name: string; type: string; bytes: Blob | Uint8Array<ArrayBuffer> },
    options: UploadOptions = {},
  ): Promise<AttachmentRef> {
    const size = file.bytes instanceof Uint8Array ? file.bytes.byteLength : file.bytes.size;
    const ticket = await this.call<UploadTicket>('POST', '/v1/attachments', {
      name: file.name,
      type: file.type,
      size,
    });
    const answer = await putBytes(this.resolve(ticket.upload_url), file.bytes, options);
    // Bytes sent to the store itself (S3) are checked by the server when told they are there.
    if (ticket.complete_url === undefined) return JSON.parse(answer) as AttachmentRef;
    return this.complete(this.resolve(ticket.complete_url), options);
  }

  /** A path the server answered is under its base URL; an absolute URL (the store's) is kept. */
  private resolve(url: string): string {
    return url.startsWith('/') ? this.baseUrl + url : url;
  }

  /** Finishes a direct upload: retried on network failures as the PUT is (it answers the same again). */
  private async complete(url: string, options: UploadOptions): Promise<AttachmentRef> {
    const attempts = options.attempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      options.signal?.throwIfAborted();
      try {
        const response = await fetch(url, {
          method: 'POST',
          ...(options.signal ? { signal: options.signal } : {}),
        });
        const body = (await response.json()) as AttachmentRef & {
          error?: { code: ErrorCode; message: string };
        };
        if (response.ok) return body;
        throw new NatterError(
          body.error?.code ?? 'internal',
          body.error?.message ?? `HTTP ${response.status}`,
        );
      } catch (error) {
        if (!(error instanceof TypeError) || attempt >= attempts) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** (attempt - 1)));
    }
  }

  /** A short-lived URL of an attachment of message `seq`, for a current member who sees it. */
  async attachmentUrl(conversationId: string, seq: number, attachmentId: string): Promise<string> {
    const path = `/v1/conversations/${encodeURIComponent(conversationId)}/messages/${seq}/attachments/${encodeURIComponent(attachmentId)}`;
    const ticket = await this.call<DownloadTicket>('GET', path);
    return this.resolve(ticket.url);
  }

  removeAvatar(): Promise<UserProfile> {
    return this.call('DELETE', '/v1/me/avatar');
  }

  /** Which push providers this server runs, and the VAPID key a browser subscribes with (protocol §11.6). */
  pushConfig(): Promise<PushConfigAnswer> {
    return this.call('GET', '/v1/push/config');
  }

  /** Registers this device for push notifications: a browser's Web Push subscription, or an FCM/APNs token. */
  async registerPushDevice(device: PushDeviceBody): Promise<void> {
    await this.call('POST', '/v1/push/devices', device);
  }

  /** Stops pushes to one device (its subscription endpoint or token). */
  async unregisterPushDevice(token: string): Promise<void> {
    await this.call('DELETE', '/v1/push/devices', { token });
  }

  /**
   * A user's avatar image (`profile.avatar` says whether there is one, and its version), or null
   * when there is none. The browser's HTTP cache revalidates it by ETag.
   */
  async avatar(userId: string): Promise<Blob | null> {
    const response = await this.send('GET', `/v1/users/${encodeURIComponent(userId)}/avatar`);
    if (response.status === 404) return null;
    if (!response.ok) throw await errorOf(response);
    return response.blob();
  }

  /**
   * People whose username or display-name words start with the query's words (2..64 characters):
   * at most 20, contacts first, then an exact username, then the rest (docs/protocol.md §11.1.2).
   */
  async searchUsers(query: string): Promise<FoundUser[]> {
    const path = `/v1/users/search?q=${encodeURIComponent(query)}`;
    return (await this.call<{ users: FoundUser[] }>('GET', path)).users;
  }

  /** Profiles by username (anyone) and by id (users you share a conversation with); others are left out. */
  async lookupUsers(query: { userIds?: string[]; usernames?: string[] }): Promise<UserProfile[]> {
    const body = { user_ids: query.userIds ?? [], usernames: query.usernames ?? [] };
    return (await this.call<{ users: UserProfile[] }>('POST', '/v1/users/lookup', body)).users;
  }

  /** The 1:1 conversation with a user, by id or username: the same one every time. */
  async direct(peer: { userId: string } | { username: string }): Promise<ConversationSummary> {
    const body = 'userId' in peer ? { user_id: peer.userId } : { username: peer.username };
    return (await this.call<{ conversation: ConversationSummary }>('POST', '/v1/conversations/direct', body))
      .conversation;
  }

  async createGroup(title: string, memberIds: string[]): Promise<ConversationSummary> {
    const body = { title, member_ids: memberIds };
    return (await this.call<{ conversation: ConversationSummary }>('POST', '/v1/conversations', body))
      .conversation;
  }

  /** A channel: fans out on read, up to 1,000,000 members; `admins` makes it a broadcast channel. */
  async createChannel(
    title: string,
    memberIds: string[],
    posting: PostingPolicy,
  ): Promise<ConversationSummary> {
    const body = { title, member_ids: memberIds, kind: 'channel', posting };
    return (await this.call<{ conversation: ConversationSummary }>('POST', '/v1/conversations', body))
      .conversation;
  }

  /** Who may post in a channel (admins and owners set it; a `settings_changed` event follows). */
  async setPosting(id: string, posting: PostingPolicy): Promise<ConversationSummary> {
    const body = await this.call<{ conversation: ConversationSummary }>(
      'PATCH',
      `/v1/conversations/${encodeURIComponent(id)}`,
      { posting },
    );
    return body.conversation;
  }

  conversation(id: string): Promise<{ conversation: ConversationSummary; members: MemberInfo[] }> {
    return this.call('GET', `/v1/conversations/${encodeURIComponent(id)}`);
  }

  /** Who may mention `@all` / `@here` in a group (admins and owners set it; a `settings_changed` event follows). */
  async setGroupMentions(id: string, policy: GroupMentionPolicy): Promise<ConversationSummary> {
    const body = await this.call<{ conversation: ConversationSummary }>(
      'PATCH',
      `/v1/conversations/${encodeURIComponent(id)}`,
      { group_mentions: policy },
    );
    return body.conversation;
  }

  async rename(id: string, title: string): Promise<ConversationSummary> {
    const path = `/v1/conversations/${encodeURIComponent(id)}`;
    return (await this.call<{ conversation: ConversationSummary }>('PATCH', path, { title })).conversation;
  }

  addMember(id: string, userId: string, role: Exclude<Role, 'owner'> = 'member'): Promise<{ seq: number }> {
    return this.call('POST', `/v1/conversations/${encodeURIComponent(id)}/members`, {
      user_id: userId,
      role,
    });
  }

  /** Removes a member; with your own id, leaves. */
  removeMember(id: string, userId: string): Promise<{ seq: number }> {
    return this.call(
      'DELETE',
      `/v1/conversations/${encodeURIComponent(id)}/members/${encodeURIComponent(userId)}`,
    );
  }

  setRole(id: string, userId: string, role: Role): Promise<{ seq: number }> {
    const path = `/v1/conversations/${encodeURIComponent(id)}/members/${encodeURIComponent(userId)}`;
    return this.call('PATCH', path, { role });
  }

  history(
    id: string,
    beforeSeq?: number,
    limit?: number,
  ): Promise<{ events: ChatEvent[]; has_more: boolean }> {
    const query = new URLSearchParams();
    if (beforeSeq !== undefined) query.set('before_seq', String(beforeSeq));
    if (limit !== undefined) query.set('limit', String(limit));
    const search = query.toString();
    return this.call(
      'GET',
      `/v1/conversations/${encodeURIComponent(id)}/events${search ? `?${search}` : ''}`,
    );
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.send(method, path, body);
    if (!response.ok) throw await errorOf(response);
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** A request with the bearer token; a Blob or byte body goes as it is, anything else as JSON. */
  private send(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = {};
    const token = this.token();
    if (token) headers.authorization = `Bearer ${token}`;
    const raw = body instanceof Uint8Array || (typeof Blob !== 'undefined' && body instanceof Blob);
    if (body !== undefined) headers['content-type'] = raw ? 'application/octet-stream' : 'application/json';
    return fetch(this.baseUrl + path, {
      method,
      headers,
      ...(body === undefined ? {} : { body: raw ? (body as BodyInit) : JSON.stringify(body) }),
    });
  }
}

/** The server's error body as a NatterError with its code (docs/protocol.md §11). */
async function errorOf(response: Response): Promise<NatterError> {
  const text = await response.text();
  let error: { code: ErrorCode; message: string; retry_after_ms?: number } | undefined;
  try {
    error = (JSON.parse(text) as { error?: typeof error }).error;
  } catch {
    error = undefined;
  }
  return new NatterError(error?.code ?? 'internal', error?.message ?? `HTTP ${response.status}`, {
    ...(error?.retry_after_ms === undefined ? {} : { retryAfterMs: error.retry_after_ms }),
  });
}
