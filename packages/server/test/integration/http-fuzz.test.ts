import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyRoutes, sendBody } from '../helpers/body-routes.js';
import { TestClient } from '../helpers/client.js';
import { api, createGroup, signToken, startTestServer, type TestServer, uid } from '../helpers/server.js';

/** Random bodies and ids on the HTTP API: always a catalogue error (4xx), never a 5xx or a crash. */
describe('fuzz: HTTP API inputs', () => {
  let server: TestServer;
  let conv: string;
  const owner = uid('hfz');
  beforeAll(async () => {
    server = await startTestServer({ passwordHashCost: 10 });
    conv = await createGroup(server.httpUrl, owner, [uid('m')], 'http fuzz');
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('random bodies, ids and queries never produce a 5xx', async () => {
    const token = await signToken(owner);
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.constantFrom(null, '', 'x'.repeat(2000), -1, 1e308, Number.MAX_SAFE_INTEGER + 2, [], {}),
    );
    const body = fc.oneof(
      value,
      fc.record(
        {
          title: value,
          member_ids: fc.oneof(
            fc.array(fc.oneof(fc.string({ maxLength: 140 }), value), { maxLength: 5 }),
            value,
          ),
          user_id: fc.oneof(fc.string({ maxLength: 140 }), value),
          username: fc.oneof(fc.string({ maxLength: 40 }), value),
          password: fc.oneof(fc.string({ maxLength: 40 }), value),
          role: fc.oneof(fc.constantFrom('owner', 'admin', 'member', 'god'), value),
        },
        { requiredKeys: [] },
      ),
    );
    const idPart = fc.oneof(
      fc.constant(conv),
      fc.constantFrom('c_nope', '..', '%00', '%2F', 'a'.repeat(300), '__proto__', 'constructor'),
      fc.string({ minLength: 1, maxLength: 20 }).map((s) => encodeURIComponent(s)),
    );
    const route = fc.oneof(
      fc.record({ method: fc.constant('POST'), path: fc.constant('/v1/conversations') }),
      fc.record({ method: fc.constant('POST'), path: fc.constant('/v1/conversations/direct') }),
      fc.record({ method: fc.constant('POST'), path: fc.constant('/v1/accounts') }),
      fc.record({ method: fc.constant('POST'), path: fc.constant('/v1/sessions') }),
      idPart.map((id) => ({ method: 'PATCH', path: `/v1/conversations/${id}` })),
      idPart.map((id) => ({ method: 'GET', path: `/v1/conversations/${id}` })),
      idPart.map((id) => ({ method: 'POST', path: `/v1/conversations/${id}/members` })),
      fc
        .tuple(idPart, idPart)
        .map(([id, u]) => ({ method: 'PATCH', path: `/v1/conversations/${id}/members/${u}` })),
      fc
        .tuple(idPart, idPart)
        .map(([id, u]) => ({ method: 'DELETE', path: `/v1/conversations/${id}/members/${u}` })),
      fc
        .tuple(idPart, fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.constant(1e308)), fc.integer())
        .map(([id, b, l]) => ({
          method: 'GET',
          path: `/v1/conversations/${id}/events?before_seq=${encodeURIComponent(String(b))}&limit=${l}`,
        })),
    );
    const failures: string[] = [];
    await fc.assert(
      fc.asyncProperty(route, body, fc.boolean(), async (r, b, raw) => {
        let res: { status: number; text: string; body: unknown };
        if (raw && r.method !== 'GET') {
          // not JSON at all
          const resp = await fetch(server.httpUrl + r.path, {
            method: r.method,
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: typeof b === 'string' ? b : `{${JSON.stringify(b)}`,
          });
          res = { status: resp.status, text: await resp.text(), body: undefined };
        } else {
          res = await api(server.httpUrl, r.method, r.path, {
            token,
            body: r.method === 'GET' ? undefined : b,
          });
        }
        if (res.status >= 500)
          failures.push(`${r.method} ${r.path} ${JSON.stringify(b)} -> ${res.status} ${res.text}`);
        return res.status < 500;
      }),
      { numRuns: 150, interruptAfterTimeLimit: 15_000 },
    );
    expect(failures).toEqual([]);
    // still serving
    const c = await TestClient.open(server.wsUrl, { user: owner });
    const ack = await c.sendOk(conv, 'after http fuzz');
    expect(ack.seq).toBeGreaterThan(1);
    await c.close();
  }, 40_000);

  it('a JSON body without Content-Type: application/json gets bad_request naming the header, on every route', async () => {
    const token = await signToken(owner);
    const member = uid('m');
    const failures: string[] = [];
    for (const route of bodyRoutes(conv, member)) {
      for (const contentType of [undefined, 'text/plain', 'application/x-www-form-urlencoded', 'nonsense']) {
        const res = await sendBody(server.httpUrl, route, JSON.stringify(route.body), { token, contentType });
        const message = 'Send the body as JSON with Content-Type: application/json.';
        if (res.status !== 400 || res.error?.code !== 'bad_request' || res.error.message !== message)
          failures.push(
            `${route.method} ${route.path} (${contentType}): ${res.status} ${res.error?.message}`,
          );
      }
    }
    expect(failures.slice(0, 5)).toEqual([]);
  });

  it('path segments: every id fits, a longer segment gets bad_request in the documented shape', async () => {
    const token = await signToken(owner);
    const longest = 'u'.repeat(128);
    const group = await createGroup(server.httpUrl, owner, [longest], 'long ids');
    const removed = await api(server.httpUrl, 'DELETE', `/v1/conversations/${group}/members/${longest}`, {
      token,
    });
    expect(removed.status).toBe(200);
    const tooLong = await api(server.httpUrl, 'GET', `/v1/conversations/${'c'.repeat(129)}`, { token });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body).toEqual({
      error: {
        code: 'bad_request',
        message: 'A path segment is longer than 128 characters.',
        retryable: false,
      },
    });
  });
});
