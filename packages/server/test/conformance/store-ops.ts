import { randomUUID } from 'node:crypto';
import { type ChatEvent, type ConversationSummary, NatterError } from '@natter/protocol';
import { expect } from 'vitest';
import type { LogStore } from '../../src/store/log-store.js';
import type { AppendOp, WriteOp, WriteOutcome, WriteResult } from '../../src/store/write-ops.js';

/**
 * What the LogStore conformance suites share: unique ids, write ops built and committed one at a
 * time through `commit`, and the reads a suite compares. Only the port's interface, no SQL.
 */

/** A unique id per call, readable in failure output. */
export function uid(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 12)}`;
}

export function ids<const T extends readonly string[]>(...names: T): { [K in keyof T]: string } {
  return names.map((n) => uid(n)) as { [K in keyof T]: string };
}

/** A well-formed conversation id that no store has. */
export function unknownConversation(): string {
  return `c_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
}

export function okOf(result: WriteResult | undefined): WriteOutcome {
  if (!result) throw new Error('commit returned fewer results than ops');
  if (!result.ok) throw new Error(`expected ok, got ${result.error.code}: ${result.error.message}`);
  return result.value;
}

export function errorOf(result: WriteResult | undefined): NatterError {
  if (!result) throw new Error('commit returned fewer results than ops');
  if (result.ok) throw new Error(`expected an error, got ok: ${JSON.stringify(result.value)}`);
  expect(result.error).toBeInstanceOf(NatterError);
  return result.error;
}

/** Commits one op that must succeed. */
export async function run(store: LogStore, op: WriteOp): Promise<WriteOutcome> {
  const results = await store.commit([op]);
  expect(results).toHaveLength(1);
  return okOf(results[0]);
}

/** Commits one op that must fail. */
export async function reject(store: LogStore, op: WriteOp): Promise<NatterError> {
  const results = await store.commit([op]);
  expect(results).toHaveLength(1);
  return errorOf(results[0]);
}

/** An error as a caller can tell it apart: its code and message. */
export async function refusal(store: LogStore, op: WriteOp): Promise<{ code: string; message: string }> {
  const e = await reject(store, op);
  return { code: e.code, message: e.message };
}

export function only(outcome: WriteOutcome): ChatEvent {
  expect(outcome.events).toHaveLength(1);
  return outcome.events[0]!;
}

export function append(
  conversationId: string,
  senderId: string,
  eventKind: AppendOp['eventKind'],
  fields: Partial<AppendOp> = {},
): AppendOp {
  return {
    kind: 'append',
    eventKind,
    conversationId,
    senderId,
    deviceId: null,
    clientMsgId: randomUUID(),
    body: null,
    refSeq: null,
    metadata: null,
    ...fields,
  };
}

export const message = (conv: string, sender: string, body: string, fields: Partial<AppendOp> = {}) =>
  append(conv, sender, 'message', { body, ...fields });
export const edit = (conv: string, sender: string, target: number, body: string) =>
  append(conv, sender, 'edit', { body, refSeq: target });
export const del = (conv: string, sender: string, target: number) =>
  append(conv, sender, 'delete', { refSeq: target });

/** Appends a message that must be stored, and returns its event. */
export async function send(
  store: LogStore,
  conv: string,
  sender: string,
  body = 'hi',
  fields: Partial<AppendOp> = {},
): Promise<ChatEvent> {
  return only(await run(store, message(conv, sender, body, fields)));
}

export async function createDirect(store: LogStore, userId: string, peerId: string): Promise<string> {
  return (await run(store, { kind: 'create_direct', userId, peerId })).conversationId;
}

export async function createGroup(
  store: LogStore,
  creatorId: string,
  memberIds: string[],
  title = 'group',
): Promise<string> {
  return (await run(store, { kind: 'create_group', creatorId, title, memberIds })).conversationId;
}

export async function summary(store: LogStore, userId: string, conv: string): Promise<ConversationSummary> {
  const s = await store.conversationFor(userId, conv);
  if (!s) throw new Error(`conversationFor returned null for ${userId} in ${conv}`);
  return s;
}

/** Every event the user may see, through fetchAfter. */
export async function fetched(store: LogStore, userId: string, conv: string): Promise<ChatEvent[]> {
  const page = await store.fetchAfter(userId, conv, 0, 100);
  if (!page || page.hasMore) throw new Error('expected the whole conversation in one page');
  return page.events;
}

/** The same through historyBefore (newest page). */
export async function history(store: LogStore, userId: string, conv: string): Promise<ChatEvent[]> {
  const page = await store.historyBefore(userId, conv, null, 100);
  if (!page || page.hasMore) throw new Error('expected the whole conversation in one page');
  return page.events;
}

/** The same through syncSince from scratch. */
export async function synced(store: LogStore, userId: string, conv: string): Promise<ChatEvent[]> {
  const page = await store.syncSince(userId, 0, 0, 100, 100);
  return page.events.filter((e) => e.conversation_id === conv);
}

export function at(events: ChatEvent[], seq: number): ChatEvent {
  const found = events.find((e) => e.seq === seq);
  if (!found) throw new Error(`seq ${seq} is not among ${events.map((e) => e.seq).join(',')}`);
  return found;
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

/** One field of the event at `seq` as each of the three reads returns it (they must agree). */
export async function agreedField<K extends keyof ChatEvent>(
  store: LogStore,
  userId: string,
  conv: string,
  seq: number,
  field: K,
): Promise<ChatEvent[K]> {
  const views = [
    at(await fetched(store, userId, conv), seq),
    at(await history(store, userId, conv), seq),
    at(await synced(store, userId, conv), seq),
  ];
  expect(views[1]![field], 'historyBefore agrees with fetchAfter').toEqual(views[0]![field]);
  expect(views[2]![field], 'syncSince agrees with fetchAfter').toEqual(views[0]![field]);
  expect(field in views[0]!).toBe(views[0]![field] !== undefined);
  return views[0]![field];
}
