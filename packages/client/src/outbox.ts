import type { AttachmentRef, ErrorCode } from '@natter/protocol/core';

/**
 * sending: queued or on its way, retried until acked; sent: stored (with `seq`); failed: refused
 * for good (`error` says why), kept until `retry` or `discard`; discarded: dropped by `discard`
 * (emitted once, never stored).
 */
export type OutboxState = 'sending' | 'sent' | 'failed' | 'discarded';

/**
 * A message the user wrote: shown at once, retried with the same client_msg_id until acked, and
 * kept when refused, so what the user wrote is never lost.
 */
export interface OutboxEntry {
  clientMsgId: string;
  conversationId: string;
  body: string;
  /** The app's metadata object sent with the message, if any. */
  metadata?: Record<string, unknown>;
  /** The seq of the message it answers, if any. */
  replyTo?: number;
  /** The root of the thread it is a reply in, if any. */
  threadRoot?: number;
  /** Who it mentions (user ids, `@all`, `@here`), if anyone. */
  mentions?: string[];
  /** The uploaded files it carries, if any (uploaded before it was queued). */
  attachments?: AttachmentRef[];
  createdAt: number;
  state: OutboxState;
  /** Set once acked: the message's place in the conversation. */
  seq?: number;
  error?: { code: ErrorCode; message: string };
}

/**
 * Where unsent and refused messages survive a reload or a restart. Browsers plug in IndexedDB; the default
 * keeps them in memory, which survives reconnects but not the process.
 */
export interface OutboxStorage {
  load(): Promise<OutboxEntry[]>;
  save(entry: OutboxEntry): Promise<void>;
  remove(clientMsgId: string): Promise<void>;
}

export class MemoryOutboxStorage implements OutboxStorage {
  private readonly entries = new Map<string, OutboxEntry>();

  async load(): Promise<OutboxEntry[]> {
    return [...this.entries.values()].map((e) => ({ ...e }));
  }

  async save(entry: OutboxEntry): Promise<void> {
    this.entries.set(entry.clientMsgId, { ...entry });
  }

  async remove(clientMsgId: string): Promise<void> {
    this.entries.delete(clientMsgId);
  }
}
