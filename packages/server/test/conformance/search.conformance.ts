import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { searchTermsOf } from '../../src/chat/search-query.js';
import type { LogStore } from '../../src/store/log-store.js';
import type { MessageSearch, SearchMatch, SearchQuery } from '../../src/store/message-search.js';
import type { AppendOp } from '../../src/store/write-ops.js';
import { createGroup, del, edit, message, run, uid } from './store-ops.js';

/**
 * Message search as the MessageSearch port promises it, over the index the log store keeps in the
 * same transaction as its writes: current text only, members' spans only, ranked, paged, filtered,
 * and no query syntax. The same suite for every adapter, through the interfaces only. Words are
 * unique per test (a random marker), so adapters may share one database.
 */
export interface SearchHandle {
  store: LogStore;
  search: MessageSearch;
  close(): Promise<void>;
}

/** A word no other test uses: letters only, so both tokenizers keep it whole. */
/** A word no other test wrote: "w" and 12 letters (a UUID's hex digits, 0-9 mapped to g-p). */
function word(): string {
  const hex = randomUUID().replaceAll('-', '').slice(0, 12);
  return `w${hex.replace(/[0-9]/g, (d) => String.fromCharCode(103 + Number(d)))}`;
}

export function describeSearchConformance(name: string, open: () => Promise<SearchHandle>): void {
  describe(`${name} message search conformance`, () => {
    let handle: SearchHandle;
    let store: LogStore;
    const [alice, bob, carol] = [uid('alice'), uid('bob'), uid('carol')];

    beforeEach(async () => {
      handle = await open();
      store = handle.store;
    });
    afterEach(async () => {
      await handle.close();
    });

    function group(members: string[] = [bob]): Promise<string> {
      return createGroup(store, alice, members, 't');
    }

    async function send(conv: string, sender: string, body: string, fields: Partial<AppendOp> = {}) {
      const outcome = await run(store, message(conv, sender, body, fields));
      return outcome.events[0]!.seq;
    }

    async function find(
      userId: string,
      query: string,
      filters: Partial<SearchQuery> = {},
    ): Promise<SearchMatch[]> {
      const page = await handle.search.search({
        userId,
        terms: searchTermsOf(query),
        offset: 0,
        limit: 50,
        timeoutMs: 10_000,
        ...filters,
      });
      return page.matches;
    }

    const seqs = (matches: SearchMatch[]) => matches.map((m) => m.seq).sort((a, b) => a - b);

    it('finds a message by all of its given words, in any case, with what a result needs', async () => {
      const w = word();
      const conv = await group();
      const seq = await send(conv, bob, `Crème brûlée and ${w.toUpperCase()} tonight`);
      const [hit, ...rest] = await find(alice, w);
      expect(rest).toEqual([]);
      expect(hit).toMatchObject({
        conversationId: conv,
        seq,
        senderId: bob,
        body: `Crème brûlée and ${w.toUpperCase()} tonight`,
        threadRoot: null,
      });
      expect(hit!.sentAt).toBeGreaterThan(0);
      expect(seqs(await find(alice, `${w} tonight`))).toEqual([seq]);
      expect(await find(alice, `${w} absentword`)).toEqual([]);
      expect(seqs(await find(alice, `${w.slice(0, 6)}*`))).toEqual([seq]);
      expect(await find(alice, w.slice(0, 6))).toEqual([]);
      expect(seqs(await find(alice, `CRÈME ${w}`))).toEqual([seq]);
    });

    it('ranks a message that repeats the words above one that mentions them in passing', async () => {
      const [w, v] = [word(), word()];
      const conv = await group();
      const passing = await send(
        conv,
        bob,
        `${w} ${v} and a long tail of other words that dilute the match a lot`,
      );
      const dense = await send(conv, bob, `${w} ${v} ${w} ${v}`);
      expect((await find(alice, `${w} ${v}`)).map((m) => m.seq)).toEqual([dense, passing]);
    });

    it('an edit replaces the text: the old words no longer match, the new ones do', async () => {
      const [before, after] = [word(), word()];
      const conv = await group();
      const seq = await send(conv, bob, `first ${before}`);
      await run(store, edit(conv, bob, seq, `second ${after}`));
      expect(await find(alice, before)).toEqual([]);
      const [hit] = await find(alice, after);
      expect(hit).toMatchObject({ seq, body: `second ${after}` });
    });

    it('a deleted message matches nothing, nor does the text of its edits', async () => {
      const [w, v] = [word(), word()];
      const conv = await group();
      const seq = await send(conv, bob, `gone ${w}`);
      await run(store, edit(conv, bob, seq, `edited ${v}`));
      await run(store, del(conv, bob, seq));
      expect(await find(alice, w)).toEqual([]);
      expect(await find(alice, v)).toEqual([]);
    });

    it('a member finds only what their membership spans show, like history', async () => {
      const w = word();
      const conv = await group([]);
      const early = await send(conv, alice, `early ${w}`);
      await run(store, {
        kind: 'add_member',
        actorId: alice,
        conversationId: conv,
        userId: carol,
        role: 'member',
      });
      const during = await send(conv, alice, `during ${w}`);
      await run(store, { kind: 'remove_member', actorId: alice, conversationId: conv, userId: carol });
      await send(conv, alice, `late ${w}`);
      const history = await store.historyBefore(carol, conv, null, 100);
      const visible = history!.events.filter((e) => e.kind === 'message').map((e) => e.seq);
      expect(visible).toEqual([during]);
      expect(seqs(await find(carol, w))).toEqual([during]);
      expect(seqs(await find(alice, w))).toHaveLength(3);
      expect(seqs(await find(alice, w))[0]).toBe(early);
    });

    it('a former member does not find a message by text it was given after they left', async () => {
      const [w, v] = [word(), word()];
      const conv = await group([carol]);
      const seq = await send(conv, alice, `original ${w}`);
      await run(store, { kind: 'remove_member', actorId: alice, conversationId: conv, userId: carol });
      await run(store, edit(conv, alice, seq, `changed ${v}`));
      expect(await find(carol, v)).toEqual([]);
      expect(seqs(await find(alice, v))).toEqual([seq]);
    });

    it("another's conversation answers exactly like one that does not exist", async () => {
      const w = word();
      const conv = await group();
      await send(conv, bob, `secret ${w}`);
      const stranger = uid('stranger');
      expect(await find(stranger, w)).toEqual([]);
      const other = await find(stranger, w, { conversationId: conv });
      const missing = await find(stranger, w, { conversationId: `c_${randomUUID().slice(0, 16)}` });
      expect(other).toEqual(missing);
      expect(other).toEqual([]);
    });

    it('filters by conversation, sender and time', async () => {
      const w = word();
      const [one, two] = [await group(), await group()];
      const a1 = await send(one, alice, `a ${w}`);
      const b1 = await send(one, bob, `b ${w}`);
      const a2 = await send(two, alice, `c ${w}`);
      expect(seqs(await find(alice, w))).toEqual([a1, a2, b1].sort((x, y) => x - y));
      expect(seqs(await find(alice, w, { conversationId: one }))).toEqual([a1, b1]);
      expect((await find(alice, w, { senderId: bob })).map((m) => [m.conversationId, m.seq])).toEqual([
        [one, b1],
      ]);
      const all = await find(alice, w);
      const newest = Math.max(...all.map((m) => m.sentAt));
      expect(await find(alice, w, { after: newest + 1 })).toEqual([]);
      expect(await find(alice, w, { before: Math.min(...all.map((m) => m.sentAt)) })).toEqual([]);
      expect((await find(alice, w, { after: newest })).length).toBeGreaterThan(0);
      expect((await find(alice, w, { before: newest + 1 })).length).toBe(3);
    });

    it('pages through the ranked matches without repeats or gaps', async () => {
      const w = word();
      const conv = await group();
      const sent: number[] = [];
      for (let i = 0; i < 7; i++) sent.push(await send(conv, bob, `${`${w} `.repeat((i % 3) + 1)}n${i}`));
      const seen: number[] = [];
      let offset = 0;
      for (;;) {
        const page = await handle.search.search({
          userId: alice,
          terms: searchTermsOf(w),
          offset,
          limit: 3,
          timeoutMs: 10_000,
        });
        seen.push(...page.matches.map((m) => m.seq));
        offset += page.matches.length;
        if (!page.hasMore) break;
      }
      expect(seen).toHaveLength(7);
      expect([...seen].sort((a, b) => a - b)).toEqual(sent);
    });

    it('reads no query syntax: quotes, operators and columns are plain separators', async () => {
      const w = word();
      const conv = await group();
      const seq = await send(conv, bob, `plain ${w} text`);
      for (const hostile of [
        '"a',
        'NEAR(',
        ':*&|!',
        `"${w}`,
        `${w} OR`,
        `body:${w}`,
        `(${w}`,
        "'",
        `${w}'s`,
        '^*',
        '-',
      ]) {
        const terms = searchTermsOf(hostile);
        const page = await handle.search.search({
          userId: alice,
          terms,
          offset: 0,
          limit: 10,
          timeoutMs: 10_000,
        });
        expect(Array.isArray(page.matches)).toBe(true);
      }
      expect(seqs(await find(alice, `"${w}`))).toEqual([seq]);
      expect(seqs(await find(alice, `(${w} AND`))).toEqual([]);
      expect(seqs(await find(alice, `body:${w}`))).toEqual([]);
    });

    it('finds a reply in a thread, naming its root', async () => {
      const w = word();
      const conv = await group();
      const root = await send(conv, alice, 'the root');
      const replySeq = await send(conv, bob, `in the thread ${w}`, { threadRoot: root });
      const [hit] = await find(alice, w);
      expect(hit).toMatchObject({ seq: replySeq, threadRoot: root });
    });
  });
}
