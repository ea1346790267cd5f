import { describe, expect, it } from 'vitest';
import type { Connection } from '../../src/gateway/connection.js';
import { ConnectionHub } from '../../src/gateway/connection-hub.js';

/** The part of a Connection the hub touches, recording what it is sent. */
function device(userId: string, id: string) {
  const got: string[] = [];
  const connection = { id, userId, sendText: (frame: string) => got.push(frame) };
  return { connection: connection as unknown as Connection, got };
}

describe('ConnectionHub', () => {
  it('tells first and last connections of a user apart, through one, two and three devices', () => {
    const hub = new ConnectionHub();
    const [a, b, c] = ['a', 'b', 'c'].map((id) => device('u1', id).connection) as [
      Connection,
      Connection,
      Connection,
    ];
    expect(hub.add(a)).toBe(true);
    expect(hub.add(a)).toBe(false);
    expect(hub.countFor('u1')).toBe(1);
    expect(hub.add(b)).toBe(false);
    expect(hub.add(c)).toBe(false);
    expect(hub.countFor('u1')).toBe(3);
    expect(hub.remove(b)).toBe(false);
    expect(hub.remove(b)).toBe(false);
    expect(hub.remove(a)).toBe(false);
    expect(hub.countFor('u1')).toBe(1);
    expect(hub.remove(device('u1', 'stranger').connection)).toBe(false);
    expect(hub.remove(c)).toBe(true);
    expect(hub.countFor('u1')).toBe(0);
    expect(hub.remove(c)).toBe(false);
    expect(hub.add(b)).toBe(true);
  });

  it("writes a frame to every device of the users named, except the sender's connection", () => {
    const hub = new ConnectionHub();
    const alone = device('u1', 'a');
    const phone = device('u2', 'p');
    const laptop = device('u2', 'l');
    const other = device('u3', 'o');
    for (const d of [alone, phone, laptop, other]) hub.add(d.connection);
    hub.toUsers(['u1', 'u2', 'nobody'], 'f1', 'l');
    hub.remove(phone.connection);
    hub.toUsers(['u2'], 'f2');
    hub.toUsers(['u1'], 'f3', 'a');
    expect(alone.got).toEqual(['f1']);
    expect(phone.got).toEqual(['f1']);
    expect(laptop.got).toEqual(['f2']);
    expect(other.got).toEqual([]);
  });
});
