import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { ReconnectFrame, ServerPingFrame } from '@natter/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { closeAll, TestClient } from '../helpers/client.js';
import { type ChildServer, spawnServer } from '../helpers/process.js';
import { api, createGroup, makeDataDir, signToken, sleep, uid } from '../helpers/server.js';
import { resume } from '../helpers/sync.js';

const FAST_ENV = {
  NATTER_SENDS_PER_SECOND: '100000',
  NATTER_SEND_BURST: '100000',
  NATTER_FRAMES_PER_SECOND: '100000',
  NATTER_FRAME_BURST: '100000',
  NATTER_DRAIN_MAX_DELAY_MS: '200',
};

/** Promise 1: acked means stored, even across kill -9 of the server process. */
describe('durability: child server process', () => {
  const dirs: string[] = [];
  const children: ChildServer[] = [];
  afterAll(async () => {
    for (const c of children) await c.kill('SIGKILL');
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('every acked message survives SIGKILL and restart on the same data dir', async () => {
    const dataDir = await makeDataDir();
    dirs.push(dataDir);
    const first = await spawnServer(dataDir, FAST_ENV);
    children.push(first);
    const users = [uid('dur'), uid('dur'), uid('dur')];
    const conv = await createGroup(first.httpUrl, users[0]!, users.slice(1), 'durable');
    const clients = await Promise.all(users.map((u) => TestClient.open(first.wsUrl, { user: u })));

    const acked = new Map<string, number>(); // client_msg_id -> seq
    const attempted = new Map<string, string>(); // client_msg_id -> sender
    const TARGET = 400;
    let stop = false;
    let killed: Promise<unknown> | undefined;
    // Membership changes answered over HTTP are log events too: they must survive as well.
    const newcomer = uid('dur-new');
    const ownerToken = await signToken(users[0]!);
    const memberOps = (async () => {
      const done: Array<{ seq: number; kind: string }> = [];
      await sleep(20);
      const add = await api<{ seq: number }>(first.httpUrl, 'POST', `/v1/conversations/${conv}/members`, {
        token: ownerToken,
        body: { user_id: newcomer },
      }).catch(() => undefined);
      if (add?.status === 200) done.push({ seq: add.body.seq, kind: 'member_added' });
      const ren = await api(first.httpUrl, 'PATCH', `/v1/conversations/${conv}`, {
        token: ownerToken,
        body: { title: 'renamed under load' },
      }).catch(() => undefined);
      if (ren?.status === 200) done.push({ seq: -1, kind: 'renamed' });
      return done;
    })();
    const loops = clients.map(async (c, i) => {
      while (!stop && attempted.size < 20_000) {
        const batch = Array.from({ length: 20 }, () => `k${i}-${randomUUID()}`);
        await Promise.all(
          batch.map(async (cmid) => {
            attempted.set(cmid, users[i]!);
            try {
              const f = await c.send(conv, `durable ${cmid}`, cmid);
              if (f.type === 'ack') acked.set(cmid, f.seq);
            } catch {
              // socket died with the server: not acked
            }
            if (acked.size >= TARGET && killed === undefined) {
              stop = true;
              killed = first.kill('SIGKILL');
            }
          }),
        );
      }
    });
    await Promise.all(loops);
    const exit = await first.exited;
    expect(exit.signal).toBe('SIGKILL');
    expect(acked.size).toBeGreaterThanOrEqual(TARGET);
    await Promise.all(clients.map((c) => c.waitClosed(5_000).catch(() => undefined)));

    const second = await spawnServer(dataDir, FAST_ENV);
    children.push(second);
    const memberDone = await memberOps;
    const reader = await TestClient.open(second.wsUrl, { user: users[1]! });
    try {
      const history = await reader.fullHistory(conv);
      for (const op of memberDone) {
        if (op.kind === 'member_added') {
          expect(history.find((e) => e.seq === op.seq)).toMatchObject({
            kind: 'member_added',
            data: { user_id: newcomer },
          });
        } else {
          expect(history.some((e) => e.kind === 'renamed' && e.data?.title === 'renamed under load')).toBe(
            true,
          );
        }
      }
      const seqs = history.map((e) => e.seq);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, k) => k + 1));
      const byCmid = new Map(
        history.filter((e) => e.kind === 'message').map((e) => [e.client_msg_id!, e] as const),
      );
      const missing: string[] = [];
      for (const [cmid, seq] of acked) {
        const e = byCmid.get(cmid);
        if (e === undefined || e.seq !== seq || e.body !== `durable ${cmid}`) missing.push(`${cmid}@${seq}`);
      }
      expect(missing, `acked but lost after kill -9: ${missing.slice(0, 5).join(', ')}`).toEqual([]);
      // Nothing that was never sent appears; no message stored twice.
      const messages = history.filter((e) => e.kind === 'message');
      expect(new Set(messages.map((e) => e.client_msg_id)).size).toBe(messages.length);
      for (const e of messages) expect(attempted.has(e.client_msg_id!)).toBe(true);

      // Retrying every attempted send after the restart stores each message exactly once.
      const retriers = await Promise.all(users.map((u) => TestClient.open(second.wsUrl, { user: u })));
      try {
        const unacked = [...attempted.entries()].filter(([cmid]) => !acked.has(cmid));
        for (const [cmid, sender] of unacked) {
          const c = retriers[users.indexOf(sender)]!;
          const f = await c.send(conv, `durable ${cmid}`, cmid);
          expect(f.type).toBe('ack');
        }
        // acked ones come back as duplicates with their seq
        const sample = [...acked.entries()].slice(0, 20);
        for (const [cmid, seq] of sample) {
          const sender = attempted.get(cmid)!;
          const f = await retriers[users.indexOf(sender)]!.send(conv, `durable ${cmid}`, cmid);
          expect(f).toMatchObject({ type: 'ack', seq, duplicate: true });
        }
        const after = await reader.fullHistory(conv);
        const afterMessages = after.filter((e) => e.kind === 'message');
        expect(afterMessages).toHaveLength(attempted.size);
        expect(new Set(afterMessages.map((e) => e.client_msg_id)).size).toBe(attempted.size);
        expect(after.map((e) => e.seq)).toEqual(Array.from({ length: after.length }, (_, k) => k + 1));
      } finally {
        await closeAll(retriers);
      }
    } finally {
      await reader.close();
      await second.kill('SIGKILL');
    }
  }, 60_000);

  it('change tokens (from sync_result and from ping) and ok-ed receipts stay valid across SIGKILL', async () => {
    const dataDir = await makeDataDir();
    dirs.push(dataDir);
    const env = { ...FAST_ENV, NATTER_PING_INTERVAL_MS: '100' };
    const first = await spawnServer(dataDir, env);
    children.push(first);
    const [a, b] = [uid('tok'), uid('tok')];
    const conv = await createGroup(first.httpUrl, a, [b]);
    const writer = await TestClient.open(first.wsUrl, { user: a });
    const reader = await TestClient.open(first.wsUrl, { user: b });
    const fromSync = (await resume(reader, (await resume(reader, undefined)).token)).token;
    const before: number[] = [];
    for (let i = 0; i < 5; i++) before.push((await writer.sendOk(conv, `before ${i}`)).seq);
    const mark = reader.mark();
    const ping = await reader.waitFor<ServerPingFrame>((f) => f.type === 'ping' && f.token !== fromSync, {
      from: mark,
    });
    const ok = await reader.request({ type: 'receipt', conversation_id: conv, kind: 'read', seq: before[2] });
    expect(ok.type).toBe('ok');
    await first.kill('SIGKILL');
    await closeAll([writer, reader]);

    const second = await spawnServer(dataDir, env);
    children.push(second);
    const writerAgain = await TestClient.open(second.wsUrl, { user: a });
    const after: number[] = [];
    for (let i = 0; i < 3; i++) after.push((await writerAgain.sendOk(conv, `after ${i}`)).seq);
    const readerAgain = await TestClient.open(second.wsUrl, { user: b });
    try {
      // The sync token still resumes: everything after it, nothing refused.
      const bySync = await resume(readerAgain, fromSync);
      expect(bySync.events.filter((e) => e.kind === 'message').map((e) => e.seq)).toEqual([
        ...before,
        ...after,
      ]);
      // The ping token was durable when sent: it resumes with just what came after it.
      const byPing = await resume(readerAgain, ping.token);
      expect(byPing.events.map((e) => e.seq)).toEqual(after);
      // The receipt answered with ok survived the kill.
      expect(byPing.summaries.get(conv)?.read_seq).toBe(before[2]);
    } finally {
      await closeAll([writerAgain, readerAgain]);
      await second.kill('SIGKILL');
    }
  }, 30_000);

  it('SIGTERM drains: clients get reconnect then close 1012, and the process exits 0', async () => {
    const dataDir = await makeDataDir();
    dirs.push(dataDir);
    const srv = await spawnServer(dataDir, FAST_ENV);
    children.push(srv);
    const a = uid('drain');
    const b = uid('drain');
    const conv = await createGroup(srv.httpUrl, a, [b]);
    const ca = await TestClient.open(srv.wsUrl, { user: a });
    const cb = await TestClient.open(srv.wsUrl, { user: b });
    try {
      const ack = await ca.sendOk(conv, 'before drain');
      srv.proc.kill('SIGTERM');
      for (const c of [ca, cb]) {
        const rc = await c.waitFor<ReconnectFrame>((f) => f.type === 'reconnect', { timeoutMs: 5_000 });
        expect(rc.reason).toBe('server_draining');
        expect(rc.retry_after_ms).toBeGreaterThanOrEqual(0);
        expect(rc.retry_after_ms).toBeLessThanOrEqual(200);
        const closed = await c.waitClosed(5_000);
        expect(closed.code).toBe(1012);
      }
      const exit = await srv.exited;
      expect(exit.code).toBe(0);
      // And the data is there on the next start.
      const again = await spawnServer(dataDir, FAST_ENV);
      children.push(again);
      const reader = await TestClient.open(again.wsUrl, { user: b });
      const h = await reader.fullHistory(conv);
      expect(h.find((e) => e.seq === ack.seq)?.body).toBe('before drain');
      await reader.close();
      await again.kill('SIGTERM');
    } finally {
      await closeAll([ca, cb]);
    }
  }, 30_000);
});
