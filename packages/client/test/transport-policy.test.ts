import { describe, expect, it } from 'vitest';
import { ALL_TRANSPORTS, TransportPolicy } from '../src/transport-policy.js';

describe('TransportPolicy', () => {
  const RETRY = 60_000;
  const setup = () => {
    let now = 0;
    const policy = new TransportPolicy(ALL_TRANSPORTS, RETRY, () => now);
    return { policy, advance: (ms: number) => (now += ms) };
  };

  it('falls back to SSE after three WebSocket upgrades that never opened, and to long polls after two stalled event streams', () => {
    const { policy } = setup();
    for (let i = 0; i < 3; i++) {
      expect(policy.next()).toBe('websocket');
      expect(policy.failed('websocket', false)).toBe(false);
    }
    expect(policy.next()).toBe('sse');
    policy.failed('sse', true);
    expect(policy.next()).toBe('sse');
    policy.failed('sse', true);
    expect(policy.next()).toBe('long-poll');
    policy.opened('long-poll');
    expect(policy.next()).toBe('long-poll');
  });

  it('a drop after a connection opened moves nothing', () => {
    const { policy } = setup();
    for (let i = 0; i < 10; i++) {
      expect(policy.next()).toBe('websocket');
      policy.opened('websocket');
    }
    policy.failed('websocket', false);
    policy.opened('websocket');
    policy.failed('websocket', false);
    expect(policy.next()).toBe('websocket');
  });

  it('goes back to the WebSocket when the fallback cannot reach the server either (the server is down)', () => {
    const { policy } = setup();
    for (let i = 0; i < 3; i++) policy.failed(policy.next(), false);
    expect(policy.next()).toBe('sse');
    policy.failed('sse', false);
    expect(policy.next()).toBe('websocket');
  });

  it('tries the WebSocket again after retryFirstMs on a fallback, and keeps it when it opens', () => {
    const { policy, advance } = setup();
    for (let i = 0; i < 3; i++) policy.failed(policy.next(), false);
    expect(policy.next()).toBe('sse');
    policy.opened('sse');
    advance(RETRY - 1);
    expect(policy.next()).toBe('sse');
    advance(1);
    // Still blocked: back to the fallback for another interval.
    expect(policy.next()).toBe('websocket');
    policy.failed('websocket', false);
    expect(policy.next()).toBe('sse');
    policy.opened('sse');
    advance(RETRY);
    expect(policy.next()).toBe('websocket');
    policy.opened('websocket');
    advance(10 * RETRY);
    expect(policy.next()).toBe('websocket');
  });

  it('after a failed probe the next attempt uses the fallback, even when probing at every reconnect', () => {
    const policy = new TransportPolicy(ALL_TRANSPORTS, 0);
    for (let i = 0; i < 3; i++) policy.failed(policy.next(), false);
    policy.opened(policy.next());
    for (let i = 0; i < 3; i++) {
      expect(policy.next()).toBe('websocket');
      expect(policy.failed('websocket', false)).toBe(true);
      expect(policy.next()).toBe('sse');
      policy.opened('sse');
    }
  });

  it('keeps to the transports it is given', () => {
    const policy = new TransportPolicy(['long-poll'], RETRY);
    policy.failed('long-poll', true);
    policy.failed('long-poll', true);
    expect(policy.next()).toBe('long-poll');
    expect(() => new TransportPolicy([], RETRY)).toThrow();
  });
});
