import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, TestClient } from '../helpers/client.js';
import { createGroup, startTestServer, type TestServer, uid } from '../helpers/server.js';

const MAX_INVALID = 5;

describe('invalid frames', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ maxInvalidFrames: MAX_INVALID });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const nextError = (c: TestClient, from: number) => c.waitFor((f) => f.type === 'error', { from });

  it('malformed JSON gets bad_request; unknown type gets unknown_frame; the socket stays', async () => {
    const c = await TestClient.open(server.wsUrl, { user: uid('inv') });
    try {
      let mark = c.mark();
      c.sendRaw('{"type": "send", ');
      expectError(await nextError(c, mark), 'bad_request');
      mark = c.mark();
      c.sendJson({ type: 'teleport', id: 't1' });
      const unknown = expectError(await nextError(c, mark), 'unknown_frame');
      expect(unknown.retryable).toBe(false);
      mark = c.mark();
      c.sendJson([1, 2, 3]);
      expectError(await nextError(c, mark));
      await c.pingPong();
      expect(c.isOpen).toBe(true);
    } finally {
      await c.close();
    }
  });

  it('schema violations get bad_request answering the request id', async () => {
    const user = uid('schema');
    const conv = await createGroup(server.httpUrl, user, [uid('peer')]);
    const c = await TestClient.open(server.wsUrl, { user });
    try {
      const cases = [
        { type: 'send', conversation_id: conv, client_msg_id: 'm1', body: 42 },
        { type: 'send', conversation_id: conv, client_msg_id: 'm2', body: 'x', extra: true },
        { type: 'history', conversation_id: conv, limit: 1000 },
        { type: 'receipt', conversation_id: conv, kind: 'seen', seq: 1 },
      ];
      for (const frame of cases) {
        const { id, frame: answer } = await c.requestLoose(frame);
        expectError(answer, 'bad_request');
        expect(
          answer.type === 'error' && answer.re,
          `error for ${JSON.stringify(frame)} should carry re`,
        ).toBe(id);
      }
      const h = await c.fullHistory(conv);
      expect(h.some((e) => e.kind === 'message')).toBe(false);
    } finally {
      await c.close();
    }
  });

  it('a binary frame gets an error frame', async () => {
    const c = await TestClient.open(server.wsUrl, { user: uid('bin') });
    try {
      const mark = c.mark();
      c.sendRaw(Buffer.from(JSON.stringify({ type: 'ping' })), true);
      const e = expectError(await nextError(c, mark));
      expect(['bad_request', 'unknown_frame']).toContain(e.code);
      await c.pingPong();
    } finally {
      await c.close();
    }
  });

  it('fewer than maxInvalidFrames invalid frames leave the socket open', async () => {
    const c = await TestClient.open(server.wsUrl, { user: uid('few') });
    try {
      for (let i = 0; i < MAX_INVALID - 1; i++) c.sendRaw(`nope ${i}`);
      await c.pingPong();
      expect(c.frames.filter((f) => f.type === 'error')).toHaveLength(MAX_INVALID - 1);
      expect(c.isOpen).toBe(true);
    } finally {
      await c.close();
    }
  });

  it('after maxInvalidFrames invalid frames the socket is closed 1008, each having got an error frame', async () => {
    const c = await TestClient.open(server.wsUrl, { user: uid('many') });
    for (let i = 0; i <= MAX_INVALID; i++) c.sendRaw(`garbage ${i}`);
    const closed = await c.waitClosed();
    expect(closed.code).toBe(1008);
    expect(c.frames.filter((f) => f.type === 'error').length).toBeGreaterThanOrEqual(MAX_INVALID);
  });

  it('invalid frames before auth also count and get errors', async () => {
    const c = await TestClient.connect(server.wsUrl);
    for (let i = 0; i <= MAX_INVALID; i++) c.sendRaw('{');
    const closed = await c.waitClosed();
    expect(closed.code).toBe(1008);
    expect(c.frames.filter((f) => f.type === 'error').length).toBeGreaterThanOrEqual(MAX_INVALID);
  });
});
