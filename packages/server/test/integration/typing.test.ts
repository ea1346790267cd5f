import { randomUUID } from 'node:crypto';
import type { ServerFrame, TypingUpdateFrame } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, expectError, TestClient } from '../helpers/client.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { createGroup, startTestServer, type TestServer, uid } from '../helpers/server.js';

const TYPING_TTL = 800;
const MIN_INTERVAL = 1_000;

const typingOf = (conv: string, user: string, state?: 'start' | 'stop') => (f: ServerFrame) =>
  f.type === 'typing' &&
  f.conversation_id === conv &&
  f.user_id === user &&
  (state === undefined || f.state === state);

/**
 * Typing is ephemeral: forwarded to the others, rate-limited, and expires by itself. The server's
 * time is a ManualClock: it stands still unless a test advances it.
 */
describe('typing', () => {
  const clock = new ManualClock();
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(
      { typingTtlMs: TYPING_TTL, typingMinIntervalMs: MIN_INTERVAL },
      undefined,
      {
        clock,
      },
    );
  });
  afterAll(async () => {
    await server?.dispose();
  });

  async function trio() {
    const typer = uid('typer');
    const other = uid('other');
    const conv = await createGroup(server.httpUrl, typer, [other], 'typing');
    const t1 = await TestClient.open(server.wsUrl, { user: typer });
    const t2 = await TestClient.open(server.wsUrl, { user: typer });
    const o = await TestClient.open(server.wsUrl, { user: other });
    return { typer, other, conv, t1, t2, o };
  }

  it('start reaches the other member (not the typer’s connections) and expires on its own with a stop', async () => {
    const { typer, conv, t1, t2, o } = await trio();
    try {
      t1.sendJson({ type: 'typing', conversation_id: conv, state: 'start' });
      const start = await o.waitFor<TypingUpdateFrame>(typingOf(conv, typer, 'start'), {
        label: 'typing start',
      });
      expect(start.ttl_ms).toBe(TYPING_TTL);
      await clock.advance(TYPING_TTL - 1);
      await o.pingPong(); // a stop sent before it has arrived
      expect(o.frames.filter(typingOf(conv, typer, 'stop'))).toEqual([]);
      await clock.advance(1);
      const stop = await o.waitFor<TypingUpdateFrame>(typingOf(conv, typer, 'stop'), {
        label: 'expiry stop',
      });
      expect(stop.state).toBe('stop');
      // the typer's own connections never get their typing
      expect(t1.frames.some((f) => f.type === 'typing')).toBe(false);
      expect(t2.frames.some((f) => f.type === 'typing')).toBe(false);
    } finally {
      await closeAll([t1, t2, o]);
    }
  });

  it('explicit stop is forwarded; repeated starts within the min interval are forwarded once', async () => {
    const { typer, conv, t1, t2, o } = await trio();
    const start = { type: 'typing', conversation_id: conv, state: 'start' };
    try {
      for (let i = 0; i < 5; i++) t1.sendJson(start);
      await o.waitFor(typingOf(conv, typer, 'start'));
      await t1.pingPong();
      await o.collectFor(() => false, 100);
      expect(o.frames.filter(typingOf(conv, typer, 'start'))).toHaveLength(1);
      const mark = o.mark();
      t1.sendJson({ type: 'typing', conversation_id: conv, state: 'stop' });
      await o.waitFor(typingOf(conv, typer, 'stop'), { from: mark, timeoutMs: TYPING_TTL / 2 + 100 });
      // Even after a stop, a start just inside the interval is held back; one at its end goes through.
      await clock.advance(MIN_INTERVAL - 1);
      t1.sendJson(start);
      await t1.pingPong();
      await o.pingPong();
      expect(o.frames.slice(mark).filter(typingOf(conv, typer, 'start'))).toEqual([]);
      await clock.advance(1);
      t1.sendJson(start);
      await o.waitFor(typingOf(conv, typer, 'start'), { from: mark, label: 'start after the interval' });
    } finally {
      await closeAll([t1, t2, o]);
    }
  });

  it('sending a message ends typing', async () => {
    const { typer, conv, t1, t2, o } = await trio();
    try {
      t1.sendJson({ type: 'typing', conversation_id: conv, state: 'start' });
      await o.waitFor(typingOf(conv, typer, 'start'));
      const mark = o.mark();
      const sentAt = clock.now();
      await t1.sendOk(conv, 'done typing');
      await o.waitFor(typingOf(conv, typer, 'stop'), { from: mark, label: 'stop after send' });
      // The server's time stood still: the stop came from the send, not from the TTL.
      expect(clock.now()).toBe(sentAt);
    } finally {
      await closeAll([t1, t2, o]);
    }
  });

  it('saving an edit ends typing at once, as a send does', async () => {
    const { typer, conv, t1, t2, o } = await trio();
    try {
      const sent = await t1.sendOk(conv, 'first draft');
      t1.sendJson({ type: 'typing', conversation_id: conv, state: 'start' });
      await o.waitFor(typingOf(conv, typer, 'start'));
      const mark = o.mark();
      const savedAt = clock.now();
      const ack = await t1.request({
        type: 'edit',
        conversation_id: conv,
        client_msg_id: randomUUID(),
        target_seq: sent.seq,
        body: 'second draft',
      });
      expect(ack.type).toBe('ack');
      await o.waitFor(typingOf(conv, typer, 'stop'), { from: mark, label: 'stop after edit' });
      expect(clock.now()).toBe(savedAt);
    } finally {
      await closeAll([t1, t2, o]);
    }
  });

  it('typing in a conversation you are not in is not_found and reaches nobody', async () => {
    const { typer, conv, t1, t2, o } = await trio();
    const outsider = uid('outsider');
    const x = await TestClient.open(server.wsUrl, { user: outsider });
    try {
      const mark = x.mark();
      x.sendJson({ type: 'typing', conversation_id: conv, state: 'start' });
      const err = await x.waitFor((f) => f.type === 'error', { from: mark });
      expectError(err, 'not_found');
      await o.collectFor(() => false, 150);
      expect(o.frames.some(typingOf(conv, outsider))).toBe(false);
      expect(t1.frames.some(typingOf(conv, outsider))).toBe(false);
      expect(typer).not.toBe(outsider);
    } finally {
      await closeAll([t1, t2, o, x]);
    }
  });
});
