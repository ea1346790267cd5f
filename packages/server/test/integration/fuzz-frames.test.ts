import { randomUUID } from 'node:crypto';
import { CLIENT_FRAME_TYPES, ClientFrame, ERROR_CODES } from '@natter/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, expectAck, expectFrame, TestClient } from '../helpers/client.js';
import { createGroup, startTestServer, type TestServer, uid } from '../helpers/server.js';

const MAX_BODY = 200;
const MAX_FRAME = 16 * 1024;

type Wire = { binary: false; data: string } | { binary: true; data: Uint8Array };

/**
 * Property: whatever frames a client throws at an authenticated connection, the process stays up,
 * the connection is served, no error is `internal`, and the log holds exactly what valid frames asked for.
 */
describe('fuzz: random and malformed frames', () => {
  let server: TestServer;
  let conv: string;
  let foreignConv: string;
  const fuzzer = uid('fuzz');
  const peer = uid('peer');
  const foreignOwner = uid('foreign');

  beforeAll(async () => {
    server = await startTestServer({
      maxBodyBytes: MAX_BODY,
      maxFrameBytes: MAX_FRAME,
      maxInvalidFrames: 1_000_000,
      frameBurst: 1_000_000,
      framesPerSecond: 1_000_000,
      sendBurst: 1_000_000,
      sendsPerSecond: 1_000_000,
      typingMinIntervalMs: 0,
    });
    conv = await createGroup(server.httpUrl, peer, [fuzzer], 'fuzz target');
    foreignConv = await createGroup(server.httpUrl, foreignOwner, [uid('x')], 'not the fuzzer’s');
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('survives random frames and stores only what valid sends asked for', async () => {
    const anyValue = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.integer(),
      fc.double(),
      fc.constantFrom(
        Number.MAX_SAFE_INTEGER + 2,
        1e308,
        -1,
        0,
        -0,
        2 ** 53,
        0.5,
        Number.MIN_VALUE,
        '1',
        '',
        'NaN',
        '__proto__',
      ),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
      fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
    );
    const convArb = fc.oneof(
      { weight: 6, arbitrary: fc.constant(conv) },
      { weight: 1, arbitrary: fc.constant(foreignConv) },
      { weight: 1, arbitrary: fc.constantFrom('c_nope', ' ', 'x'.repeat(65), `${conv} `) },
      { weight: 1, arbitrary: anyValue },
    );
    const mostly = <T>(valid: fc.Arbitrary<T>) =>
      fc.oneof({ weight: 8, arbitrary: valid as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: anyValue });
    const idArb = mostly(fc.uuid().map((u) => `fz-${u}`));
    const bodyArb = mostly(
      fc.oneof(
        { weight: 5, arbitrary: fc.string({ maxLength: 60, unit: 'grapheme' }) },
        { weight: 1, arbitrary: fc.string({ minLength: MAX_BODY - 2, maxLength: MAX_BODY + 30 }) },
        { weight: 1, arbitrary: fc.constant('€'.repeat(Math.ceil(MAX_BODY / 3) + 1)) },
      ),
    );
    const sendCmid = mostly(fc.uuid());
    const editCmid = mostly(fc.uuid().map((u) => `e-${u}`));
    const convField = mostly(convArb);
    const seqField = mostly(fc.nat({ max: 60 }));
    const limitField = fc.option(mostly(fc.integer({ min: -5, max: 600 })), { nil: undefined });
    // Frames of each real type with mostly-right fields: many are valid, many are subtly wrong.
    const templates: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
      send: fc.record({ id: idArb, conversation_id: convField, client_msg_id: sendCmid, body: bodyArb }),
      edit: fc.record({
        id: idArb,
        conversation_id: convField,
        client_msg_id: editCmid,
        target_seq: seqField,
        body: bodyArb,
      }),
      delete: fc.record({
        id: idArb,
        conversation_id: convField,
        client_msg_id: editCmid,
        target_seq: seqField,
      }),
      sync: fc.record(
        { id: idArb, since: mostly(fc.constantFrom('v1.0', 'v1.99999', 'garbage', null)), limit: limitField },
        { requiredKeys: ['id'] },
      ),
      fetch: fc.record(
        { id: idArb, conversation_id: convField, after_seq: seqField, limit: limitField },
        { requiredKeys: ['id', 'conversation_id', 'after_seq'] },
      ),
      history: fc.record(
        { id: idArb, conversation_id: convField, before_seq: seqField, limit: limitField },
        { requiredKeys: ['id', 'conversation_id'] },
      ),
      receipt: fc.record(
        {
          id: idArb,
          conversation_id: convField,
          kind: mostly(fc.constantFrom('read', 'delivered')),
          seq: seqField,
        },
        { requiredKeys: ['conversation_id', 'kind', 'seq'] },
      ),
      typing: fc.record({ conversation_id: convField, state: mostly(fc.constantFrom('start', 'stop')) }),
      presence_subscribe: fc.record({
        id: idArb,
        user_ids: mostly(fc.array(fc.constantFrom(peer, fuzzer, foreignOwner, 'nobody'), { maxLength: 5 })),
      }),
      auth: fc.record({ token: anyValue, id: idArb }, { requiredKeys: ['token'] }),
      ping: fc.constant({}),
      pong: fc.constant({}),
    };
    const typed = fc
      .tuple(
        fc.constantFrom('send', 'send', 'send', 'send', 'edit', 'delete', ...Object.keys(templates)),
        fc.nat({ max: 15 }),
        anyValue,
        fc.string({ minLength: 1, maxLength: 12 }),
      )
      .chain(([type, mutation, extraValue, extraKey]) =>
        templates[type]!.map((fields) => {
          const frame: Record<string, unknown> = { type, ...fields };
          if (mutation === 0) frame[extraKey] = extraValue; // unknown key
          if (mutation === 1) delete frame[Object.keys(frame)[1] ?? 'type']; // missing key
          if (mutation === 2) frame.type = extraValue; // wrong type field
          return frame;
        }),
      )
      .map((o): Wire => ({ binary: false, data: JSON.stringify(o) }));
    // Loose records over every field name, wrong types mixed in.
    const lookalike = fc
      .record(
        {
          type: fc.oneof(
            { weight: 8, arbitrary: fc.constantFrom(...CLIENT_FRAME_TYPES) },
            { weight: 1, arbitrary: anyValue },
          ),
          id: fc.option(idArb, { nil: undefined }),
          conversation_id: fc.option(convField, { nil: undefined }),
          client_msg_id: fc.option(editCmid, { nil: undefined }),
          body: fc.option(bodyArb, { nil: undefined }),
          target_seq: fc.option(seqField, { nil: undefined }),
          seq: fc.option(seqField, { nil: undefined }),
          after_seq: fc.option(seqField, { nil: undefined }),
          before_seq: fc.option(seqField, { nil: undefined }),
          limit: limitField,
          kind: fc.option(anyValue, { nil: undefined }),
          state: fc.option(anyValue, { nil: undefined }),
          user_ids: fc.option(anyValue, { nil: undefined }),
          since: fc.option(anyValue, { nil: undefined }),
          token: fc.option(anyValue, { nil: undefined }),
        },
        { requiredKeys: ['type'] },
      )
      .map((o): Wire => ({ binary: false, data: JSON.stringify(o) }));
    const nasty = fc.constantFrom<Wire>(
      ...[
        '',
        'null',
        '0',
        '""',
        '[]',
        '{}',
        '{"type":null}',
        '{"type":"__proto__"}',
        '{"type":"constructor","id":"c"}',
        '{"type":"toString"}',
        '{"type":"hasOwnProperty"}',
        `{"__proto__":{"admin":true},"type":"send","id":"p","conversation_id":"${conv}","client_msg_id":"proto","body":"x"}`,
        `{"type":"fetch","id":"inf","conversation_id":"${conv}","after_seq":1e999}`,
        `{"type":"history","id":"neg","conversation_id":"${conv}","before_seq":-1e999}`,
        `{"type":"send","type":"ping"}`,
        `{"type":"ping","type":"send","id":"dupkey","conversation_id":"${conv}","client_msg_id":"dupkey","body":"dupkey body"}`,
        '['.repeat(3000) + ']'.repeat(3000),
        '{"a":'.repeat(2000) + '1' + '}'.repeat(2000),
        '\u0000\u0001\u0002',
        '\ud800',
        '{"type":"send"',
      ].map((data): Wire => ({ binary: false, data })),
    );
    const randomJson = fc
      .jsonValue({ maxDepth: 4 })
      .map((v): Wire => ({ binary: false, data: JSON.stringify(v) }));
    const randomText = fc
      .string({ maxLength: 200, unit: 'binary' })
      .map((data): Wire => ({ binary: false, data }));
    const randomBinary = fc.uint8Array({ maxLength: 200 }).map((data): Wire => ({ binary: true, data }));
    const frameArb = fc.oneof(
      { weight: 12, arbitrary: typed },
      { weight: 3, arbitrary: lookalike },
      { weight: 2, arbitrary: nasty },
      { weight: 2, arbitrary: randomJson },
      { weight: 2, arbitrary: randomText },
      { weight: 1, arbitrary: randomBinary },
    );

    // What valid frames asked for, across all runs (shrinking may repeat frames).
    // client_msg_id -> body of the first valid send that must be stored
    const expectedMessages = new Map<string, string>();
    // client_msg_id -> bodies of every schema-valid send (stored or not: blank bodies may be refused)
    const allowedMessages = new Map<string, Set<string>>();
    const validEdits = new Map<string, Set<number>>(); // client_msg_id -> target seqs
    const badErrors: unknown[] = [];
    let totalFrames = 0;

    let c = await TestClient.open(server.wsUrl, { user: fuzzer });
    const checkErrors = (client: TestClient, from: number) => {
      for (const f of client.frames.slice(from)) {
        if (f.type !== 'error') continue;
        const ok =
          ERROR_CODES.includes(f.code) &&
          f.code !== 'internal' &&
          typeof f.message === 'string' &&
          typeof f.retryable === 'boolean';
        if (!ok) badErrors.push(f);
      }
    };

    await fc.assert(
      fc.asyncProperty(fc.array(frameArb, { minLength: 5, maxLength: 30 }), async (frames) => {
        if (!c.isOpen) c = await TestClient.open(server.wsUrl, { user: fuzzer });
        const from = c.mark();
        for (const w of frames) {
          const size = w.binary ? w.data.length : Buffer.byteLength(w.data);
          if (size >= MAX_FRAME) continue;
          totalFrames++;
          if (w.binary) {
            c.sendRaw(Buffer.from(w.data), true);
            continue;
          }
          c.sendRaw(w.data);
          let parsed: unknown;
          try {
            parsed = JSON.parse(w.data);
          } catch {
            continue;
          }
          const valid = ClientFrame.safeParse(parsed);
          if (!valid.success) continue;
          const f = valid.data;
          if (f.type === 'send' && f.conversation_id === conv && Buffer.byteLength(f.body) <= MAX_BODY) {
            const bodies = allowedMessages.get(f.client_msg_id) ?? new Set<string>();
            bodies.add(f.body);
            allowedMessages.set(f.client_msg_id, bodies);
            // A blank body may be refused (the schema allows it; a server may not); an id already used by
            // an edit/delete is deduplicated against it. Anything else must be stored.
            const blank = f.body.trim().length === 0;
            if (!blank && !validEdits.has(f.client_msg_id) && !expectedMessages.has(f.client_msg_id)) {
              expectedMessages.set(f.client_msg_id, f.body);
            }
          }
          if ((f.type === 'edit' || f.type === 'delete') && f.conversation_id === conv) {
            const targets = validEdits.get(f.client_msg_id) ?? new Set<number>();
            targets.add(f.target_seq);
            validEdits.set(f.client_msg_id, targets);
          }
        }
        // the connection is still served
        await c.pingPong(5_000);
        checkErrors(c, from);
        return c.isOpen;
      }),
      { numRuns: 50, interruptAfterTimeLimit: 20_000 },
    );
    expect(totalFrames).toBeGreaterThan(100);
    // the generator really exercised the store (not just rejections)
    expect(expectedMessages.size).toBeGreaterThan(5);

    expect(badErrors, `malformed or internal error frames: ${JSON.stringify(badErrors.slice(0, 3))}`).toEqual(
      [],
    );

    // Barrier: a valid send on the fuzz connection after everything else.
    const barrier = randomUUID();
    expectAck(await c.send(conv, 'barrier', barrier));
    expectedMessages.set(barrier, 'barrier');
    allowedMessages.set(barrier, new Set(['barrier']));

    // A fresh client can still talk, and the log holds only what valid frames asked for.
    const fresh = await TestClient.open(server.wsUrl, { user: peer });
    const foreign = await TestClient.open(server.wsUrl, { user: foreignOwner });
    try {
      const after = await fresh.sendOk(conv, 'still alive');
      const history = await fresh.fullHistory(conv);
      expect(history.map((e) => e.seq)).toEqual(Array.from({ length: history.length }, (_, i) => i + 1));
      expect(history.at(-1)?.seq).toBe(after.seq);
      const fromFuzzer = history.filter((e) => e.sender_id === fuzzer);
      const messages = fromFuzzer.filter((e) => e.kind === 'message');
      const stored = new Map(messages.map((e) => [e.client_msg_id!, e] as const));
      expect(stored.size, 'one event per client_msg_id').toBe(messages.length);
      // every message that had to be stored is there, with the body of its first send
      const missing = [...expectedMessages.keys()].filter((k) => !stored.has(k));
      expect(missing, 'valid sends that were not stored').toEqual([]);
      for (const [cmid, body] of expectedMessages) {
        const e = stored.get(cmid)!;
        if (e.deleted) expect(e.body).toBeNull();
        else if (allowedMessages.get(cmid)?.size === 1) expect(e.body).toBe(body);
      }
      // and every stored one came from a valid send with that body
      for (const [cmid, e] of stored) {
        const bodies = allowedMessages.get(cmid);
        expect(bodies, `message ${cmid} stored without a valid send`).toBeDefined();
        if (!e.deleted) expect(bodies?.has(e.body ?? '\u0000none')).toBe(true);
      }
      for (const e of fromFuzzer.filter((x) => x.kind === 'edit' || x.kind === 'delete')) {
        expect(
          validEdits.get(e.client_msg_id!)?.has(e.ref_seq!),
          `edit/delete ${e.client_msg_id} from a valid frame`,
        ).toBe(true);
      }
      expect(fromFuzzer.every((e) => ['message', 'edit', 'delete'].includes(e.kind))).toBe(true);
      // nothing reached a conversation the fuzzer is not in
      const foreignHistory = await foreign.fullHistory(foreignConv);
      expect(foreignHistory.some((e) => e.sender_id === fuzzer)).toBe(false);
      const s = expectFrame(await foreign.sync(), 'sync_result');
      expect(s.conversations.some((x) => x.conversation_id === foreignConv)).toBe(true);
    } finally {
      await closeAll([c, fresh, foreign]);
    }
  }, 60_000);

  it('before auth, random frames only ever get error frames and never a session', async () => {
    const frame = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 100 }),
      fc
        .record(
          {
            type: fc.constantFrom(...CLIENT_FRAME_TYPES),
            id: fc.string({ minLength: 1, maxLength: 8 }),
            token: fc.oneof(fc.string({ maxLength: 40 }), fc.jsonValue({ maxDepth: 1 })),
            conversation_id: fc.constant(conv),
            client_msg_id: fc.uuid(),
            body: fc.string({ maxLength: 20 }),
          },
          { requiredKeys: ['type'] },
        )
        .map((f) => JSON.stringify(f)),
    );
    const bad: unknown[] = [];
    const reader = await TestClient.open(server.wsUrl, { user: peer });
    const before = await reader.fullHistory(conv);
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 15 }), async (frames) => {
        const c = await TestClient.connect(server.wsUrl);
        try {
          for (const f of frames) c.sendRaw(f);
          c.sendJson({ type: 'ping' });
          // a pong (or an error) after everything proves the frames were all handled
          await c.waitFor((f) => f.type === 'pong' || f.type === 'error', { from: 0, timeoutMs: 3_000 });
          await c.collectFor(() => false, 30);
          for (const f of c.frames) {
            if (f.type === 'ready') bad.push(f);
            if (f.type === 'error' && (!ERROR_CODES.includes(f.code) || f.code === 'internal')) bad.push(f);
            if (f.type === 'ack' || f.type === 'events' || f.type === 'sync_result' || f.type === 'event')
              bad.push(f);
          }
          if (c.closeInfo && ![1008, 4001, 4002, 4003].includes(c.closeInfo.code)) bad.push(c.closeInfo);
        } finally {
          await c.close();
        }
        return true;
      }),
      { numRuns: 30, interruptAfterTimeLimit: 15_000 },
    );
    expect(bad).toEqual([]);
    // nothing was stored by unauthenticated frames
    const after = await reader.fullHistory(conv);
    expect(after).toEqual(before);
    await reader.close();
  }, 30_000);
});
