import { NatterError } from '@natter/protocol';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { type Committed, GroupCommitter } from '../../src/chat/group-commit.js';
import { Metrics } from '../../src/metrics.js';
import type { AppendOp, WriteOp, WriteResult } from '../../src/store/write-ops.js';
import { fakeLogStore } from '../helpers/fake-log-store.js';

/** A message op whose client_msg_id names it, so batches read as lists of names. */
function op(name: string): AppendOp {
  return {
    kind: 'append',
    eventKind: 'message',
    conversationId: 'c1',
    senderId: 'u1',
    deviceId: null,
    clientMsgId: name,
    body: name,
    refSeq: null,
    metadata: null,
  };
}

const nameOf = (o: WriteOp) => (o.kind === 'append' ? o.clientMsgId : o.kind);

/** What the fake store answers for an op: stored, its conversation id naming the op. */
function stored(o: WriteOp): WriteResult {
  return { ok: true, value: { conversationId: nameOf(o), events: [], duplicate: false, cursor: null } };
}

/** A store whose commits finish only when the test says so, in the order they were made. */
class HeldStore {
  readonly commits: Array<{
    ops: WriteOp[];
    finish: (results?: WriteResult[]) => void;
    fail: (error: Error) => void;
  }> = [];

  readonly store = fakeLogStore({
    commit: (ops) =>
      new Promise<WriteResult[]>((resolve, reject) => {
        this.commits.push({ ops, finish: (results) => resolve(results ?? ops.map(stored)), fail: reject });
      }),
  });

  batches(): string[][] {
    return this.commits.map((c) => c.ops.map(nameOf));
  }
}

/** Lets the committer's scheduled flush (setImmediate) and the promise callbacks it starts run. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

function committer(store: HeldStore, options: { maxPending?: number } = {}) {
  const published: Committed[][] = [];
  const events: string[] = [];
  const group = new GroupCommitter(
    store.store,
    (committed) => {
      published.push(committed);
      events.push(`publish ${committed.map((c) => nameOf(c.op)).join(',')}`);
    },
    new Metrics(),
    pino({ level: 'silent' }),
    options.maxPending ?? 100,
  );
  const submit = (name: string, origin?: string) => {
    const answer = group.submit(op(name), origin);
    answer.then(
      () => events.push(`ack ${name}`),
      () => events.push(`refused ${name}`),
    );
    return answer;
  };
  return { group, published, events, submit };
}

describe('GroupCommitter', () => {
  it('commits what arrived in one turn as one batch, and everything that arrived while the store was busy as the next', async () => {
    const store = new HeldStore();
    const { submit } = committer(store);
    const first = ['a', 'b', 'c'].map((n) => submit(n));
    await turn();
    expect(store.batches()).toEqual([['a', 'b', 'c']]);
    // A second batch may go to the store while the first commits...
    const second = ['d', 'e'].map((n) => submit(n));
    await turn();
    expect(store.batches()).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e'],
    ]);
    // ...but not a third: these wait, and go together once a batch is done.
    const third = ['f', 'g', 'h'].map((n) => submit(n));
    await turn();
    await turn();
    expect(store.commits).toHaveLength(2);
    store.commits[0]!.finish();
    await Promise.all(first);
    await turn();
    expect(store.batches()[2]).toEqual(['f', 'g', 'h']);
    store.commits[1]!.finish();
    store.commits[2]!.finish();
    await Promise.all([...second, ...third]);
  });

  it('acknowledges an op only after its batch is committed, publishing the batch first', async () => {
    const store = new HeldStore();
    const { submit, events, published } = committer(store);
    const a = submit('a', 'conn-1');
    const b = submit('b');
    await turn();
    await turn();
    expect(events).toEqual([]);
    store.commits[0]!.finish();
    expect(await a).toEqual(stored(op('a')));
    await b;
    expect(events).toEqual(['publish a,b', 'ack a', 'ack b']);
    expect(published[0]!.map((c) => c.origin)).toEqual(['conn-1', undefined]);
    expect(published[0]!.map((c) => c.result)).toEqual([stored(op('a')), stored(op('b'))]);
  });

  it('publishes and acknowledges batches in commit order', async () => {
    const store = new HeldStore();
    const { submit, events } = committer(store);
    const first = submit('a');
    await turn();
    const second = submit('b');
    await turn();
    store.commits[0]!.finish();
    store.commits[1]!.finish();
    await Promise.all([first, second]);
    expect(events.filter((e) => e.startsWith('publish'))).toEqual(['publish a', 'publish b']);
    expect(events.filter((e) => e.startsWith('ack'))).toEqual(['ack a', 'ack b']);
    expect(events.indexOf('publish b')).toBeLessThan(events.indexOf('ack b'));
  });

  it('refuses ops past maxPending queued with a retryable overloaded, and takes them again once the queue drains', async () => {
    const store = new HeldStore();
    const { submit } = committer(store, { maxPending: 2 });
    const accepted = [submit('a'), submit('b')];
    const refused = submit('c').catch((error: unknown) => error);
    const answer = await Promise.race([refused, turn().then(() => 'still waiting')]);
    expect(answer).toMatchObject({ code: 'overloaded', retryable: true, retryAfterMs: 1000 });
    await turn();
    expect(store.batches()).toEqual([['a', 'b']]);
    // Handed to the store, they no longer count as queued.
    const later = submit('d');
    await turn();
    expect(store.batches()).toEqual([['a', 'b'], ['d']]);
    for (const commit of store.commits) commit.finish();
    await Promise.all([...accepted, later]);
  });

  it('a failed commit refuses its whole batch as unavailable, publishes nothing of it, and the next batch proceeds', async () => {
    const store = new HeldStore();
    const { submit, published } = committer(store);
    const lost = [submit('a'), submit('b')];
    await turn();
    const next = submit('c');
    await turn();
    const cause = new Error('disk full');
    store.commits[0]!.fail(cause);
    for (const answer of lost) {
      const error = await answer.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(NatterError);
      expect(error).toMatchObject({ code: 'unavailable', retryable: true, cause });
    }
    store.commits[1]!.finish();
    expect(await next).toEqual(stored(op('c')));
    expect(published.map((batch) => batch.map((c) => nameOf(c.op)))).toEqual([['c']]);
  });

  it('an op the store refuses fails on its own: write throws its error, its batch-mates are stored', async () => {
    const store = new HeldStore();
    const { group } = committer(store);
    const refusal = new NatterError('forbidden');
    const good = group.write(op('a'));
    const bad = group.write(op('b'));
    await turn();
    store.commits[0]!.finish([stored(op('a')), { ok: false, error: refusal }]);
    await expect(good).resolves.toMatchObject({ conversationId: 'a' });
    await expect(bad).rejects.toBe(refusal);
  });

  it('a publish that throws still lets the batch be acknowledged', async () => {
    const store = new HeldStore();
    const group = new GroupCommitter(
      store.store,
      () => {
        throw new Error('fan-out broke');
      },
      new Metrics(),
      pino({ level: 'silent' }),
      100,
    );
    const answer = group.submit(op('a'));
    await turn();
    store.commits[0]!.finish();
    expect(await answer).toEqual(stored(op('a')));
  });

  it('splits more than 1000 queued ops into batches of at most 1000', async () => {
    const store = new HeldStore();
    const { submit } = committer(store, { maxPending: 5000 });
    const answers = Array.from({ length: 1001 }, (_, i) => submit(`m${i}`));
    await turn();
    await turn();
    expect(store.commits.map((c) => c.ops.length)).toEqual([1000, 1]);
    for (const commit of store.commits) commit.finish();
    await Promise.all(answers);
  });

  it('drained() resolves at once when idle, else once every op submitted so far is settled, failed ones included', async () => {
    const store = new HeldStore();
    const { group, submit } = committer(store);
    await group.drained();
    const failing = submit('a').catch(() => undefined);
    await turn();
    const passing = submit('b');
    await turn();
    let drained = false;
    const done = group.drained().then(() => {
      drained = true;
    });
    store.commits[0]!.fail(new Error('lost'));
    await failing;
    await turn();
    expect(drained).toBe(false);
    store.commits[1]!.finish();
    await passing;
    await done;
    expect(drained).toBe(true);
  });
});
