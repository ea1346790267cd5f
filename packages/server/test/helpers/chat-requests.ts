import { randomUUID } from 'node:crypto';
import type { AckFrame, ChatEvent, ConversationSummary, ErrorFrame, ServerFrame } from '@natter/protocol';
import { expect } from 'vitest';
import { expectAck, expectFrame, type TestClient } from './client.js';
import { api, signToken } from './server.js';

/**
 * The chat requests the integration tests make over a TestClient (and the member changes over HTTP),
 * and the reads they compare: a message in a page of events, a conversation's summary from a sync.
 */

/** What a `send` carries besides its body; an option left undefined stays out of the frame. */
export interface SendOptions {
  threadRoot?: number;
  replyTo?: number;
  mentions?: string[];
  metadata?: Record<string, unknown>;
  contentType?: string;
  cmid?: string;
}

export function sendMessage(
  c: TestClient,
  conv: string,
  body: string,
  options: SendOptions = {},
): Promise<AckFrame | ErrorFrame> {
  const frame: { type: string; [k: string]: unknown } = {
    type: 'send',
    conversation_id: conv,
    client_msg_id: options.cmid ?? randomUUID(),
    body,
  };
  if (options.threadRoot !== undefined) frame.thread_root = options.threadRoot;
  if (options.replyTo !== undefined) frame.reply_to = options.replyTo;
  if (options.mentions !== undefined) frame.mentions = options.mentions;
  if (options.metadata !== undefined) frame.metadata = options.metadata;
  if (options.contentType !== undefined) frame.content_type = options.contentType;
  return c.request<AckFrame | ErrorFrame>(frame);
}

export type AckedEvent = AckFrame & { event: ChatEvent };

/** An ack that must carry the stored event; `what` ("a reply", "a pin") names it in the failure. */
export function expectAckedEvent(frame: ServerFrame, what: string): AckedEvent {
  const ack = expectAck(frame);
  expect(ack.event, `the ack of ${what} carries the event`).toBeDefined();
  return ack as AckedEvent;
}

export const editMessage = (c: TestClient, conv: string, target: number, body: string) =>
  c.request({ type: 'edit', conversation_id: conv, client_msg_id: randomUUID(), target_seq: target, body });

export const deleteMessage = (c: TestClient, conv: string, target: number) =>
  c.request({ type: 'delete', conversation_id: conv, client_msg_id: randomUUID(), target_seq: target });

/** Adds (POST) or removes (DELETE) `user` as `actor` over HTTP; returns the seq of the member event. */
export async function changeMember(
  httpUrl: string,
  method: 'POST' | 'DELETE',
  conv: string,
  actor: string,
  user: string,
): Promise<number> {
  const res = await api<{ seq: number }>(
    httpUrl,
    method,
    method === 'POST' ? `/v1/conversations/${conv}/members` : `/v1/conversations/${conv}/members/${user}`,
    { token: await signToken(actor), body: method === 'POST' ? { user_id: user } : undefined },
  );
  expect(res.status).toBe(200);
  return res.body.seq;
}

export function messageIn(events: ChatEvent[], seq: number): ChatEvent {
  const found = events.find((e) => e.seq === seq);
  if (!found) throw new Error(`seq ${seq} is not among ${events.map((e) => e.seq).join(',')}`);
  return found;
}

/** The conversation's summary as a sync (from scratch, or from the `since` token) returns it. */
export async function summaryOf(c: TestClient, conv: string, since?: string): Promise<ConversationSummary> {
  const s = expectFrame(await c.sync(since), 'sync_result').conversations.find(
    (x) => x.conversation_id === conv,
  );
  if (!s) throw new Error(`no summary of ${conv}`);
  return s;
}
