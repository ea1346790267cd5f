import {
  type ChatEvent,
  type ConversationSummary,
  type ErrorCode,
  type GroupMentionPolicy,
  type MemberInfo,
  NatterError,
  type Role,
  type UserProfile,
} from '@natter/protocol/core';

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

  register(
    username: string,
    password: string,
    displayName?: string,
  ): Promise<{ user_id: string; username: string }> {
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

  me(): Promise<{ user_id: string; username: string | null; display_name: string | null }> {
    return this.call('GET', '/v1/me');
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
    const headers: Record<string, string> = {};
    const token = this.token();
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(this.baseUrl + path, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    const parsed = text ? (JSON.parse(text) as unknown) : undefined;
    if (!response.ok) {
      const error = (parsed as { error?: { code: ErrorCode; message: string; retry_after_ms?: number } })
        ?.error;
      throw new NatterError(error?.code ?? 'internal', error?.message ?? `HTTP ${response.status}`, {
        ...(error?.retry_after_ms === undefined ? {} : { retryAfterMs: error.retry_after_ms }),
      });
    }
    return parsed as T;
  }
}
