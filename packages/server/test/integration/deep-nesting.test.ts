import type { ChatEvent, ClientFrameType, ErrorFrame } from '@natter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../src/limits/json-depth.js';
import { bodyRoutes, sendBody } from '../helpers/body-routes.js';
import { closeAll, expectError, TestClient } from '../helpers/client.js';
import { api, createGroup, signToken, startTestServer, type TestServer, uid } from '../helpers/server.js';

/** 100,000 levels of objects are 600 KB: the frame limit is raised so that they reach the parser. */
const MAX_FRAME = 1024 * 1024;
/** Fastify's body limit (http-server.ts). */
const MAX_HTTP_BODY = 256 * 1024;
const TOO_DEEP = `nested deeper than ${MAX_JSON_DEPTH} levels`;
const SENTINEL = 'deep-value-goes-here';

type Shape = 'arrays' | 'objects';
const SHAPES: Shape[] = ['arrays', 'objects'];
const shapeCache = new Map<string, string>();

/** A JSON value `levels` arrays or objects deep, as text (built once per shape and depth). */
function nested(shape: Shape, levels: number): string {
  const key = `${shape}:${levels}`;
  let text = shapeCache.get(key);
  if (text === undefined) {
    text =
      shape === 'arrays'
        ? '['.repeat(levels) + ']'.repeat(levels)
        : '{"k":'.repeat(levels) + '0' + '}'.repeat(levels);
    shapeCache.set(key, text);
  }
  return text;
}

/** The template as JSON text, with `field` (an existing one, or a new one) holding `value`. */
function withField(template: Record<string, unknown>, field: string, value: string): string {
  return JSON.stringify({ ...template, [field]: SENTINEL }).replace(`"${SENTINEL}"`, value);
}

/** Valid frames of every type: each field in turn is replaced by a deep value. */
function frameTemplates(conv: string): Record<ClientFrameType, Record<string, unknown>> {
  return {
    auth: { type: 'auth', id: 'a', token: 'token', device_id: 'dev' },
    ping: { type: 'ping' },
    pong: { type: 'pong' },
    send: { type: 'send', id: 's', conversation_id: conv, client_msg_id: 'm', body: 'b' },
    edit: { type: 'edit', id: 'e', conversation_id: conv, client_msg_id: 'm', target_seq: 1, body: 'b' },
    delete: { type: 'delete', id: 'd', conversation_id: conv, client_msg_id: 'm', target_seq: 1 },
    react: {
      type: 'react',
      id: 'x',
      conversation_id: conv,
      client_msg_id: 'm',
      target_seq: 1,
      emoji: '👍',
      action: 'add',
    },
    pin: { type: 'pin', id: 'n', conversation_id: conv, client_msg_id: 'm', target_seq: 1, action: 'pin' },
    set_notifications: { type: 'set_notifications', id: 'o', conversation_id: conv, level: 'all' },
    hide_conversation: { type: 'hide_conversation', id: 'z', conversation_id: conv },
    thread_history: { type: 'thread_history', id: 't', conversation_id: conv, root_seq: 1, limit: 10 },
    thread_read: { type: 'thread_read', id: 'u', conversation_id: conv, root_seq: 1, thread_seq: 1 },
    sync: { type: 'sync', id: 'y', since: null, limit: 10, held: [{ conversation_id: conv, seq: 1 }] },
    fetch: { type: 'fetch', id: 'f', conversation_id: conv, after_seq: 0, limit: 10 },
    history: { type: 'history', id: 'h', conversation_id: conv, before_seq: 5, limit: 10 },
    receipt: { type: 'receipt', id: 'r', conversation_id: conv, kind: 'read', seq: 1 },
    typing: { type: 'typing', conversation_id: conv, state: 'start' },
    presence_subscribe: { type: 'presence_subscribe', id: 'p', user_ids: ['someone'] },
    search: { type: 'search', id: 'q', query: 'hello', conversation_id: conv, limit: 5 },
  };
}

/** Every field of every frame type (plus one unknown field, and the frame itself) at `levels` deep. */
function deepFrames(conv: string, levels: number): string[] {
  const frames: string[] = [];
  for (const shape of SHAPES) {
    const value = nested(shape, levels);
    frames.push(shape === 'arrays' ? `[${value}]` : `{"frame":${value}}`);
    for (const template of Object.values(frameTemplates(conv))) {
      for (const field of [...Object.keys(template), 'extra']) frames.push(withField(template, field, value));
    }
  }
  return frames;
}

/**
 * Sends the frames, then an incomplete request whose error (bad_request, or unauthenticated before
 * auth) marks the end; resolves to the error frames that came back before it.
 */
async function answersTo(client: TestClient, frames: string[]): Promise<ErrorFrame[]> {
  const from = client.mark();
  const end = `end-${uid()}`;
  for (const frame of frames) client.sendRaw(frame);
  client.sendJson({ type: 'fetch', id: end });
  await client.waitFor((f) => f.type === 'error' && f.re === end, { from, timeoutMs: 45_000, label: end });
  return client.frames.slice(from, -1).filter((f): f is ErrorFrame => f.type === 'error');
}

function expectAllTooDeep(errors: ErrorFrame[], sent: number): void {
  expect(errors).toHaveLength(sent);
  const other = errors.filter((e) => e.code !== 'bad_request' || !e.message.includes(TOO_DEEP));
  expect(other.slice(0, 3)).toEqual([]);
}

describe('deeply nested JSON over WebSocket', () => {
  let server: TestServer;
  let conv: string;
  let before: ChatEvent[];
  const writer = uid('writer');
  const attacker = uid('deep');

  beforeAll(async () => {
    server = await startTestServer({
      maxFrameBytes: MAX_FRAME,
      maxInvalidFrames: 1_000_000,
      framesPerSecond: 1_000_000,
      frameBurst: 1_000_000,
      authTimeoutMs: 30_000,
    });
    conv = await createGroup(server.httpUrl, writer, [attacker], 'deep nesting');
    const c = await TestClient.open(server.wsUrl, { user: writer });
    for (let i = 0; i < 5; i++) await c.sendOk(conv, `before ${i}`);
    before = await c.fullHistory(conv);
    await c.close();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it(`frames nested up to 100,000 levels in every field get bad_request, before and after auth`, async () => {
    const frames = [MAX_JSON_DEPTH, 4_000, 100_000].flatMap((levels) => deepFrames(conv, levels));
    const c = await TestClient.connect(server.wsUrl);
    try {
      expectAllTooDeep(await answersTo(c, frames), frames.length);
      // the socket stays, and authenticates as usual
      expect((await c.auth(await signToken(attacker))).type).toBe('ready');
      expectAllTooDeep(await answersTo(c, frames), frames.length);
      expect(c.isOpen).toBe(true);
    } finally {
      await c.close();
    }
  }, 60_000);

  it('nesting up to the maximum reaches validation: the usual error, not the nesting one', async () => {
    // the frame object is one level: a field value one level less than the maximum fits
    const frames = deepFrames(conv, MAX_JSON_DEPTH - 1);
    const c = await TestClient.open(server.wsUrl, { user: attacker });
    try {
      const errors = await answersTo(c, frames);
      expect(errors).toHaveLength(frames.length);
      expect(errors.filter((e) => e.message.includes(TOO_DEEP))).toEqual([]);
      expect(new Set(errors.map((e) => e.code))).toEqual(new Set(['bad_request', 'unknown_frame']));
    } finally {
      await c.close();
    }
  });

  it('a deep frame larger than max_frame_bytes is closed with 1009', async () => {
    const c = await TestClient.open(server.wsUrl, { user: attacker });
    const levels = MAX_FRAME / 2 + 1;
    c.sendRaw(`{"type":${nested('arrays', levels)}}`);
    expect((await c.waitClosed()).code).toBe(1009);
  });

  it('after the onslaught the server is up and the history is intact', async () => {
    const c = await TestClient.open(server.wsUrl, { user: writer });
    try {
      expect(await c.fullHistory(conv)).toEqual(before);
      const ack = await c.sendOk(conv, 'after');
      expect(ack.seq).toBe(before.length + 1);
    } finally {
      await c.close();
    }
  });

  it('deep frames count toward the invalid-frame limit: closed 1008 when it is reached', async () => {
    const local = await startTestServer({ maxInvalidFrames: 3 });
    const c = await TestClient.connect(local.wsUrl);
    try {
      const deep = `{"type":${nested('arrays', 4_000)}}`;
      for (let i = 0; i < 3; i++) c.sendRaw(deep);
      expect((await c.waitClosed()).code).toBe(1008);
      const errors = c.frames.map((f) => expectError(f, 'bad_request'));
      expect(errors.map((e) => e.message.includes(TOO_DEEP))).toEqual([true, true, true]);
    } finally {
      await closeAll([c]);
      await local.dispose();
    }
  });
});

describe('deeply nested JSON over HTTP', () => {
  let server: TestServer;
  let conv: string;
  let token: string;
  const owner = uid('owner');
  const member = uid('member');

  beforeAll(async () => {
    server = await startTestServer();
    conv = await createGroup(server.httpUrl, owner, [member], 'deep http');
    token = await signToken(owner);
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const send = (route: { method: string; path: string }, text: string) =>
    sendBody(server.httpUrl, route, text, { token, contentType: 'application/json' });

  it('bodies nested up to 100,000 levels in every field get bad_request on every route', async () => {
    const failures: string[] = [];
    for (const route of bodyRoutes(conv, member)) {
      for (const shape of SHAPES) {
        // 100,000 levels of objects are 600 KB, over the body limit: 40,000 levels (240 KB) fit
        const deepest = shape === 'arrays' ? 100_000 : 40_000;
        for (const levels of [MAX_JSON_DEPTH, 4_000, deepest]) {
          const value = nested(shape, levels);
          const fields = [...Object.keys(route.body), 'extra'];
          for (const text of [`[${value}]`, ...fields.map((field) => withField(route.body, field, value))]) {
            expect(Buffer.byteLength(text)).toBeLessThan(MAX_HTTP_BODY);
            const res = await send(route, text);
            if (
              res.status !== 400 ||
              res.error?.code !== 'bad_request' ||
              !res.error.message.includes(TOO_DEEP)
            )
              failures.push(
                `${route.method} ${route.path} ${shape} ${levels}: ${res.status} ${res.error?.message}`,
              );
          }
        }
      }
    }
    expect(failures.slice(0, 5)).toEqual([]);
  }, 60_000);

  it('a body at the maximum depth reaches validation', async () => {
    const route = { method: 'PATCH', path: `/v1/conversations/${conv}` };
    const res = await send(route, withField({}, 'title', nested('arrays', MAX_JSON_DEPTH - 1)));
    expect(res.status).toBe(400);
    expect(res.error?.message).toBe('title: Invalid input: expected string, received array');
  });

  it('a deep query string is only a string: bad_request from validation', async () => {
    const deep = encodeURIComponent(nested('arrays', 1_000));
    const res = await api(server.httpUrl, 'GET', `/v1/conversations/${conv}/events?before_seq=${deep}`, {
      token,
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'bad_request' } });
  });

  it('after the onslaught the server is up and the history is intact', async () => {
    const res = await api<{ events: ChatEvent[] }>(
      server.httpUrl,
      'GET',
      `/v1/conversations/${conv}/events`,
      {
        token,
      },
    );
    expect(res.status).toBe(200);
    expect(res.body.events.map((e) => e.kind)).toEqual(['created']);
    const c = await TestClient.open(server.wsUrl, { user: owner });
    try {
      expect((await c.sendOk(conv, 'still here')).seq).toBe(2);
    } finally {
      await c.close();
    }
  });
});
