import type { ChatEvent, ConversationSummary } from '@natter/protocol';
import { expectFrame, type TestClient } from './client.js';

export interface ResumeResult {
  /** Every event received, in the order received. */
  events: ChatEvent[];
  /** The newest summary seen per conversation. */
  summaries: Map<string, ConversationSummary>;
  token: string;
  syncPages: number;
  fetches: number;
  truncatedSeen: Set<string>;
  /** The most conversations one sync page carried. */
  maxConversationsPerPage: number;
  /** The most events of one conversation one sync page carried. */
  maxEventsPerConversationPerPage: number;
  /** Conversation summaries received in total (more than summaries.size means repeats). */
  conversationsReceived: number;
  /** Pages whose events were not grouped by conversation with ascending seqs (should be none). */
  misorderedPages: number;
}

/**
 * A client's resume: sync from `since` (following has_more), and for every truncated conversation
 * fetch after the last seq received until has_more is false. `held` goes with every page.
 */
export async function resume(
  client: TestClient,
  since: string | null | undefined,
  limit?: number,
  held?: Array<{ conversation_id: string; seq: number }>,
): Promise<ResumeResult> {
  const events: ChatEvent[] = [];
  const summaries = new Map<string, ConversationSummary>();
  const truncatedSeen = new Set<string>();
  let token = since ?? null;
  let syncPages = 0;
  let fetches = 0;
  let maxConversationsPerPage = 0;
  let maxEventsPerConversationPerPage = 0;
  let misorderedPages = 0;
  let conversationsReceived = 0;
  for (let guard = 0; guard < 200; guard++) {
    const page = expectFrame(await client.sync(token, limit, held), 'sync_result');
    syncPages++;
    maxConversationsPerPage = Math.max(maxConversationsPerPage, page.conversations.length);
    const perConv = new Map<string, number>();
    for (const e of page.events) perConv.set(e.conversation_id, (perConv.get(e.conversation_id) ?? 0) + 1);
    for (const n of perConv.values())
      maxEventsPerConversationPerPage = Math.max(maxEventsPerConversationPerPage, n);
    const finished = new Set<string>();
    for (let i = 1; i < page.events.length; i++) {
      const prev = page.events[i - 1]!;
      const cur = page.events[i]!;
      if (prev.conversation_id === cur.conversation_id) {
        if (cur.seq <= prev.seq) misorderedPages++;
      } else {
        finished.add(prev.conversation_id);
        if (finished.has(cur.conversation_id)) misorderedPages++;
      }
    }
    for (const c of page.conversations) summaries.set(c.conversation_id, c);
    conversationsReceived += page.conversations.length;
    events.push(...page.events);
    for (const convId of page.truncated) {
      truncatedSeen.add(convId);
      const got = page.events.filter((e) => e.conversation_id === convId);
      let after = got.length > 0 ? got[got.length - 1]!.seq : (summaries.get(convId)?.last_seq ?? 0);
      for (let g2 = 0; g2 < 1000; g2++) {
        const f = expectFrame(await client.fetch(convId, after, 100), 'events');
        fetches++;
        events.push(...f.events);
        const last = f.events.at(-1);
        if (last !== undefined) after = last.seq;
        if (!f.has_more || last === undefined) break;
      }
    }
    token = page.token;
    if (!page.has_more) break;
  }
  if (token === null) throw new Error('sync never returned a token');
  return {
    events,
    summaries,
    token,
    syncPages,
    fetches,
    truncatedSeen,
    maxConversationsPerPage,
    maxEventsPerConversationPerPage,
    misorderedPages,
    conversationsReceived,
  };
}
