import type { ChatEvent } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, expectFrame, TestClient } from '../helpers/client.js';
import {
  api,
  createGroup,
  signToken,
  sleep,
  startTestServer,
  type TestServer,
  uid,
} from '../helpers/server.js';
import { resume } from '../helpers/sync.js';

/** The promises under concurrent writes: membership changes and resumes racing with sends. */
describe('races', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      sendBurst: 100_000,
      sendsPerSecond: 100_000,
      frameBurst: 100_000,
      framesPerSecond: 100_000,
      syncEventsPerConversation: 7,
    });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('a member removed while messages stream in gets nothing after the removal seq', async () => {
    const owner = uid('owner');
    const victim = uid('victim');
    const talker = uid('talker');
    const conv = await createGroup(server.httpUrl, owner, [victim, talker], 'race');
    const v = await TestClient.open(server.wsUrl, { user: victim });
    const t = await TestClient.open(server.wsUrl, { user: talker });
    try {
      const stream = Promise.all(Array.from({ length: 150 }, (_, i) => t.sendOk(conv, `r${i}`)));
      await sleep(5);
      const del = await api<{ seq: number }>(
        server.httpUrl,
        'DELETE',
        `/v1/conversations/${conv}/members/${victim}`,
        {
          token: await signToken(owner),
        },
      );
      expect(del.status).toBe(200);
      const acks = await stream;
      const removalSeq = del.body.seq;
      await t.pingPong();
      await v.collectFor(() => false, 200);
      const live = v.liveEvents(conv);
      expect(live.filter((e) => e.seq > removalSeq).map((e) => e.seq)).toEqual([]);
      // everything before the removal that was a message did reach the victim (nothing missed either)
      const before = acks.filter((a) => a.seq < removalSeq).map((a) => a.seq);
      const seen = new Set(live.map((e) => e.seq));
      expect(before.filter((s) => !seen.has(s))).toEqual([]);
      const h = await v.fullHistory(conv);
      expect(h.at(-1)?.seq).toBe(removalSeq);
    } finally {
      await closeAll([v, t]);
    }
  });

  it('resuming while others keep writing: the pages plus one final sync miss nothing', async () => {
    const reader = uid('reader');
    const writers = [uid('w'), uid('w'), uid('w')];
    const convs: string[] = [];
    for (let i = 0; i < 9; i++)
      convs.push(await createGroup(server.httpUrl, writers[i % 3]!, [reader], `busy${i}`));
    const r = await TestClient.open(server.wsUrl, { user: reader });
    const ws = await Promise.all(writers.map((w) => TestClient.open(server.wsUrl, { user: w })));
    try {
      const base = await resume(r, undefined);
      const baseline = new Map(convs.map((c) => [c, base.summaries.get(c)!.last_seq] as const));
      let stop = false;
      const writing = ws.map(async (w, i) => {
        let k = 0;
        while (!stop) {
          const mine = convs.filter((_, j) => j % 3 === i);
          await Promise.all(mine.map((c) => w.sendOk(c, `busy ${k}`)));
          k++;
          // Paced, so the reader's fetches can catch up: an unbounded writer outruns any resume.
          await sleep(5);
        }
      });
      // a few resumes during the writes, each from the previous token
      let token = base.token;
      const got: ChatEvent[] = [];
      const distinct = () => new Set(got.map((e) => `${e.conversation_id}#${e.seq}`)).size;
      for (let round = 0; round < 60 && (round < 4 || distinct() < 150); round++) {
        await sleep(30);
        const res = await resume(r, token, 4);
        for (const e of res.events) got.push(e);
        token = res.token;
      }
      stop = true;
      await Promise.all(writing);
      const last = await resume(r, token, 4);
      for (const e of last.events) got.push(e);
      // Fetches run ahead of the token, so later resumes may repeat events (clients drop duplicates by
      // (conversation, seq)); what must hold is that the union has no gap, and repeats are identical.
      const byKey = new Map<string, ChatEvent>();
      for (const e of got) {
        const k = `${e.conversation_id}#${e.seq}`;
        const prev = byKey.get(k);
        if (prev) expect(e).toEqual(prev);
        byKey.set(k, e);
      }
      for (const c of convs) {
        const history = (await r.fullHistory(c)).filter((e) => e.seq > baseline.get(c)!);
        const mine = [...byKey.values()].filter((e) => e.conversation_id === c).sort((a, b) => a.seq - b.seq);
        expect(
          mine.map((e) => e.seq),
          `conversation ${c}`,
        ).toEqual(history.map((e) => e.seq));
      }
      expect(got.length).toBeGreaterThan(50);
      const final = expectFrame(await r.sync(last.token), 'sync_result');
      expect(final.events).toEqual([]);
    } finally {
      await closeAll([r, ...ws]);
    }
  });
});
