import { rm } from 'node:fs/promises';
import type { AckFrame, ChatEvent, ServerFrame } from '@natter/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  api,
  createDirect,
  createGroup,
  makeDataDir,
  signToken,
  sleep,
  startTestServer,
  type TestServer,
  uid,
  until,
} from '../../server/test/helpers/server.js';
import { type RelayPolicy, type RelayVerdict, WsProxy } from '../../server/test/helpers/ws-proxy.js';
import { ChatState, MemoryOutboxStorage, NatterClient, NatterHttp, type Transport } from '../src/index.js';
import type { WebSocketLike } from '../src/socket.js';

/** Room for a burst of queued sends after a restart without making rate limiting the bottleneck. */
const SERVER = { sendsPerSecond: 150, sendBurst: 150 };
const PER_SENDER = 600;
const BATCH = 10;
/**
 * Every fault is decided by counts: the messages handed to the SDKs so far, the sends and pushes
 * relayed so far, and a generator seeded from SEED. Cuts, stalls and restarts happen during the
 * first FAULT_MESSAGES messages (of 2,400; sending takes about 11 s, PER_SENDER / BATCH pauses of
 * 180 ms); pushes are lost until the last one is handed over.
 */
const FAULT_MESSAGES = 1700;
const RESTART_AT = [FAULT_MESSAGES / 3, (FAULT_MESSAGES * 2) / 3].map(Math.round);
/**
 * A link is cut every this many messages (the first four before the first restart); every fourth
 * one is stalled instead.
 */
const CUT_EVERY = 130;
/** On average one send in this many is cut after it reached the server, and one has its ack cut. */
const SEND_CUT_GAP = 150;
const PUSH_DROP_GAP = 15;

/**
 * The second run: writers send messages (some of them replies) and add or remove reactions, in
 * ROUNDS rounds of ACTIONS_PER_ROUND actions each; every round ends at a quiet point where every
 * device is checked against the server. A link is cut (or stalled) every ROUND_CUT_EVERY actions,
 * and the server restarts once, halfway through the second round.
 */
const ROUNDS = 3;
const ACTIONS_PER_ROUND = 60;
const ROUND_CUT_EVERY = 35;
/** Fewer requests than the first run: cut one in this many (a send or a react), and one ack. */
const ROUND_REQUEST_CUT_GAP = 40;
const EMOJI = ['👍', '❤️', '😂', '🎉'];

/** Fixed, so that a run replays; NATTER_TEST_SEED=<n> picks another (the test's name shows it). */
const SEED = Number(process.env.NATTER_TEST_SEED ?? 20_261_204);
if (!Number.isSafeInteger(SEED))
  throw new Error(`NATTER_TEST_SEED must be an integer, not ${process.env.NATTER_TEST_SEED}`);

/** A seeded generator (mulberry32), so that a failing run can be replayed from its seed. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Which occurrences of one kind of event (the k-th send, the k-th push) a fault hits: a function
 * of the seed and k only, never of timing. Hits are 1 to 2 * meanGap - 1 apart (meanGap on
 * average), so one comes at least that often. Each kind has a stream of its own, so that how the
 * kinds interleave cannot change what each one draws.
 */
class FaultSchedule {
  private count = 0;
  private next = 0;
  private readonly random: () => number;

  constructor(
    stream: number,
    private readonly meanGap: number,
  ) {
    this.random = seededRandom(SEED * 7919 + stream);
    this.next = this.gap();
  }

  /** Counts one occurrence; true if the fault hits it. */
  hit(): boolean {
    this.count += 1;
    if (this.count < this.next) return false;
    this.next += this.gap();
    return true;
  }

  private gap(): number {
    return 1 + Math.floor(this.random() * (2 * this.meanGap - 1));
  }
}

const cleanup: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
});

interface App {
  user: string;
  /** The conversations this app writes to, in turn (none: it only reads). */
  writes: string[];
  client: NatterClient;
  state: ChatState;
  outbox: MemoryOutboxStorage;
  events: ChatEvent[];
  acked: Map<string, number>;
  failed: string[];
}

async function app(
  user: string,
  writes: string[],
  proxy: WsProxy,
  transport: Transport = 'websocket',
): Promise<App> {
  const token = await signToken(user);
  const http = new NatterHttp(proxy.httpUrl, () => token);
  const outbox = new MemoryOutboxStorage();
  const client = new NatterClient({
    url: proxy.wsUrl,
    token: () => signToken(user),
    webSocket: (url) => new WebSocket(url) as unknown as WebSocketLike,
    transports: [transport],
    outbox,
  });
  const state = new ChatState(client, { members: async (id) => (await http.conversation(id)).members });
  const a: App = { user, writes, client, state, outbox, events: [], acked: new Map(), failed: [] };
  client.on('event', (event) => a.events.push(event));
  client.on('outbox', (entry) => {
    if (entry.state === 'sent' && entry.seq !== undefined) a.acked.set(entry.clientMsgId, entry.seq);
    if (entry.state === 'failed') a.failed.push(`${entry.clientMsgId}: ${entry.error?.code}`);
  });
  await client.connect();
  return a;
}

/** Every event of the conversation, oldest first, read page by page over HTTP. */
async function history(server: TestServer, user: string, conversationId: string): Promise<ChatEvent[]> {
  const token = await signToken(user);
  const pages: ChatEvent[][] = [];
  let before: number | undefined;
  for (;;) {
    const query = before === undefined ? '?limit=100' : `?limit=100&before_seq=${before}`;
    const page = await api<{ events: ChatEvent[]; has_more: boolean }>(
      server.httpUrl,
      'GET',
      `/v1/conversations/${conversationId}/events${query}`,
      { token },
    );
    pages.unshift(page.body.events);
    before = page.body.events[0]?.seq;
    if (!page.body.has_more || before === undefined) return pages.flat();
  }
}

const view = (e: ChatEvent) => `${e.seq}:${e.sender_id}:${e.client_msg_id}:${e.body}`;
/** An event with what reactions and replies add: what each device must have exactly as stored. */
const annotatedView = (e: ChatEvent) =>
  `${view(e)}:${e.kind}:${e.ref_seq}:${e.data?.emoji}:${e.data?.action}:${e.data?.count}:${e.data?.reply_to?.seq}`;

/** What the faults did, for the log line and for checking that each kind of them happened. */
interface FaultStats {
  sendCuts: number;
  ackCuts: number;
  linkCuts: number;
  stalls: number;
  pushes: number;
  droppedPushes: number;
  droppedAfterFaults: number;
  restarts: number;
}

/** What the faults may do right now: cut requests and links (`faults`), lose pushes (`drops`). */
interface FaultSwitches {
  faults: boolean;
  drops: boolean;
}

/**
 * The relay's per-frame faults. A request `cuttable` names is cut on the link after it reached the
 * server (by the schedule `sendCuts`), or its ack is (by `ackCuts`): committed on the server, and
 * the answer never arrives. Pushes are lost by `pushDrops`.
 */
function relayFaults(
  schedules: { sendCuts: FaultSchedule; ackCuts: FaultSchedule; pushDrops: FaultSchedule },
  stats: FaultStats,
  switches: FaultSwitches,
  cuttable: (frame: string) => boolean,
  /**
   * False for the HTTP fallback: it numbers every frame and replays what a cut lost, so a frame
   * cannot go missing in transit there (lost pushes come from the server side, not the network).
   */
  pushesCanBeLost = true,
): RelayPolicy {
  const cutAtAck = new Set<string>();
  return {
    toServer(frame) {
      if (!switches.faults || !cuttable(frame)) return 'pass';
      const cutAfterSend = schedules.sendCuts.hit();
      if (schedules.ackCuts.hit() && !cutAfterSend) cutAtAck.add((JSON.parse(frame) as { id: string }).id);
      if (!cutAfterSend) return 'pass';
      stats.sendCuts += 1;
      return 'pass-then-cut';
    },
    toClient(frame): RelayVerdict {
      if (!switches.drops) return 'pass';
      const parsed = JSON.parse(frame) as ServerFrame;
      if (switches.faults && parsed.type === 'ack' && cutAtAck.delete(parsed.re)) {
        stats.ackCuts += 1;
        return 'cut';
      }
      if (parsed.type !== 'event' || !pushesCanBeLost) return 'pass';
      stats.pushes += 1;
      if (schedules.pushDrops.hit()) {
        stats.droppedPushes += 1;
        if (!switches.faults) stats.droppedAfterFaults += 1;
        return 'drop';
      }
      return 'pass';
    },
  };
}

/** Cuts one open link picked by `pickLink`, or stalls it (every fourth time): a half-dead socket. */
function cutOrStall(proxy: WsProxy, pickLink: () => number, stats: FaultStats): void {
  // Only the client's own dead-socket detection may end a stalled link.
  const links = proxy.openLinks().filter((l) => !l.stalled);
  const link = links[Math.floor(pickLink() * links.length)];
  // No link open (the clients are still coming back from a restart): nothing to cut.
  if (!link) return;
  if ((stats.linkCuts + stats.stalls) % 4 === 3) {
    link.stall();
    stats.stalls += 1;
  } else {
    link.cut();
    stats.linkCuts += 1;
  }
}

const noFaultsYet = (): FaultStats => ({
  sendCuts: 0,
  ackCuts: 0,
  linkCuts: 0,
  stalls: 0,
  pushes: 0,
  droppedPushes: 0,
  droppedAfterFaults: 0,
  restarts: 0,
});

describe('the SDK over a network that cuts, loses pushes and restarts the server', () => {
  it('fault schedules depend on the seed and the count only', () => {
    const hits = (stream: number) => {
      const schedule = new FaultSchedule(stream, 15);
      return Array.from({ length: 3000 }, () => schedule.hit()).flatMap((hit, k) => (hit ? [k] : []));
    };
    const pushes = hits(3);
    expect(hits(3)).toEqual(pushes);
    expect(hits(4)).not.toEqual(pushes);
    const gaps = pushes.map((k, i) => k - (pushes[i - 1] ?? -1));
    expect(Math.max(...gaps)).toBeLessThanOrEqual(29);
    expect(pushes.length).toBeGreaterThan(3000 / 29);
  });

  for (const transport of ['websocket', 'sse', 'long-poll'] as const) {
    it(`${transport}: delivers thousands of messages exactly once, in order, acked ones never lost (seed ${SEED})`, async () => {
      const lossy = transport === 'websocket';
      const seed = SEED;
      const sendCuts = new FaultSchedule(1, SEND_CUT_GAP);
      const ackCuts = new FaultSchedule(2, SEND_CUT_GAP);
      const pushDrops = new FaultSchedule(3, PUSH_DROP_GAP);
      const pickLink = seededRandom(SEED * 7919 + 4);
      const dataDir = await makeDataDir();
      cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
      let server = await startTestServer(SERVER, dataDir);
      cleanup.push(() => server.dispose());

      const stats = noFaultsYet();
      // Cuts, stalls and restarts stop a while before the last message is written; pushes keep being
      // lost till then, so the end of the run heals on live sockets alone (gap fetch, heartbeat token).
      const switches: FaultSwitches = { faults: true, drops: true };
      const proxy = await WsProxy.start(
        server.httpUrl,
        relayFaults(
          { sendCuts, ackCuts, pushDrops },
          stats,
          switches,
          (frame) => frame.includes('"type":"send"'),
          lossy,
        ),
      );
      cleanup.push(() => proxy.close());

      const [alice, bob, carol, dave] = [uid('alice'), uid('bob'), uid('carol'), uid('dave')];
      const ab = await createDirect(server.httpUrl, alice, bob);
      const cd = await createDirect(server.httpUrl, carol, dave);
      const bd = await createDirect(server.httpUrl, bob, dave);
      const group = await createGroup(server.httpUrl, alice, [bob, carol, dave], 'everyone');
      const membersOf = new Map([
        [ab, [alice, bob]],
        [cd, [carol, dave]],
        [bd, [bob, dave]],
        [group, [alice, bob, carol, dave]],
      ]);
      // Alice also has a second device that only reads: her own messages reach it as pushes.
      const apps = [
        await app(alice, [ab, group], proxy, transport),
        await app(alice, [], proxy, transport),
        await app(bob, [ab, group, bd], proxy, transport),
        await app(carol, [cd, group], proxy, transport),
        await app(dave, [cd, group, bd], proxy, transport),
      ];
      const senders = apps.filter((a) => a.writes.length > 0);
      const appsIn = (id: string) => apps.filter((a) => membersOf.get(id)!.includes(a.user));
      for (const a of apps) {
        cleanup.push(async () => {
          a.state.close();
          a.client.close();
        });
      }
      await until(() => apps.every((a) => a.client.state === 'live'));
      // Each app shows the group, so its members (with their cursors) are followed from the start.
      for (const a of apps) a.state.membersOf(group);

      const written = new Map<string, Set<string>>([...membersOf.keys()].map((id) => [id, new Set()]));
      // Mid-delivery faults at counted moments; every fourth one leaves a half-dead socket behind.
      let restarting = Promise.resolve();
      const restart = async () => {
        await server.close();
        server = await startTestServer(SERVER, dataDir);
        proxy.retarget(server.httpUrl);
        stats.restarts += 1;
      };
      let issued = 0;
      const handedOver = () => {
        issued += 1;
        if (issued < FAULT_MESSAGES && issued % CUT_EVERY === 0) cutOrStall(proxy, pickLink, stats);
        if (RESTART_AT.includes(issued)) restarting = restarting.then(restart);
        if (issued === FAULT_MESSAGES) switches.faults = false;
      };
      const started = Date.now();
      const sending = senders.map(async (a) => {
        for (let i = 0; i < PER_SENDER; i++) {
          const conversation = a.writes[i % a.writes.length]!;
          handedOver();
          const entry = await a.client.send(conversation, `${a.user} #${i}`);
          written.get(conversation)!.add(entry.clientMsgId);
          if (i % BATCH === BATCH - 1) await sleep(180);
        }
      });
      await Promise.all(sending);
      switches.drops = false;
      await restarting;
      const sendingMs = Date.now() - started;

      const total = PER_SENDER * senders.length;
      const messagesIn = (a: App, conversation: string) =>
        a.events.filter((e) => e.conversation_id === conversation && e.kind === 'message');
      const settled = () =>
        senders.every((a) => a.acked.size + a.failed.length === PER_SENDER) &&
        [...membersOf.keys()].every((id) =>
          appsIn(id).every((a) => messagesIn(a, id).length >= written.get(id)!.size),
        );
      await until(settled, 45_000).catch(() => {
        throw new Error(`not settled (seed ${seed}): ${JSON.stringify(stats)}`);
      });

      for (const a of apps) {
        expect(a.failed, `seed ${seed}`).toEqual([]);
        expect(await a.outbox.load()).toEqual([]);
      }
      for (const [id, members] of membersOf) {
        const stored = await history(server, members[0]!, id);
        const storedMessages = stored.filter((e) => e.kind === 'message');
        expect(new Set(storedMessages.map((e) => e.client_msg_id))).toEqual(written.get(id));
        expect(storedMessages).toHaveLength(written.get(id)!.size);
        for (const a of appsIn(id)) {
          const stream = a.events.filter((e) => e.conversation_id === id);
          // Exactly once and in seq order: the stream is one unbroken run of seqs ending at the log's end.
          const first = stream[0]!.seq;
          expect(stream.map((e) => e.seq)).toEqual(stream.map((_, i) => first + i));
          expect(stream.at(-1)?.seq).toBe(stored.at(-1)?.seq);
          // Live stream and history agree, event for event.
          expect(stream.map(view)).toEqual(stored.filter((e) => e.seq >= first).map(view));
          const rendered = a.state.messages(id);
          expect(rendered.map((m) => `${m.seq}:${m.clientMsgId}`)).toEqual(
            storedMessages.map((e) => `${e.seq}:${e.client_msg_id}`),
          );
        }
      }
      // No acked message is missing: each ack's seq holds that very message for every member.
      for (const sender of senders) {
        for (const [clientMsgId, seq] of sender.acked) {
          const id = [...written].find(([, ids]) => ids.has(clientMsgId))![0];
          for (const a of appsIn(id)) {
            const seen = a.events.find((e) => e.conversation_id === id && e.seq === seq);
            expect(seen?.client_msg_id).toBe(clientMsgId);
          }
        }
      }

      // Per-member receipts survive it all: everyone reads everything, and each sender sees who read.
      for (const a of senders) for (const id of a.writes) a.state.markRead(id);
      const lastOwn = (a: App) =>
        a.state
          .messages(group)
          .filter((m) => m.senderId === a.user)
          .at(-1)!;
      await until(() =>
        apps.every(
          (a) =>
            a.state.receiptsOf(group, lastOwn(a).seq!)?.every((r) => r.read) === true &&
            a.state.messages(group).every((m) => m.senderId !== a.user || m.status === 'read'),
        ),
      );
      for (const a of apps) {
        const readers = a.state.receiptsOf(group, lastOwn(a).seq!)!;
        expect(readers.map((r) => r.userId).sort()).toEqual(
          [alice, bob, carol, dave].filter((u) => u !== a.user).sort(),
        );
        expect(
          a.state
            .membersOf(group)
            ?.map((m) => m.userId)
            .sort(),
        ).toEqual([alice, bob, carol, dave].sort());
      }

      console.info(
        `flaky network over ${transport} (seed ${seed}): ${total} messages in ${sendingMs} ms of sending, settled after ${
          Date.now() - started
        } ms; ${JSON.stringify(stats)}`,
      );
      // The faults did happen: every kind of them, and pushes lost after the last cut, which only the
      // live sockets' own healing (gap fetch, heartbeat token) can repair.
      const faultsSeen = `seed ${seed}: ${JSON.stringify(stats)}`;
      expect(total).toBeGreaterThanOrEqual(2000);
      expect(stats.restarts, faultsSeen).toBe(2);
      expect(stats.sendCuts + stats.ackCuts, faultsSeen).toBeGreaterThanOrEqual(5);
      if (lossy) {
        expect(stats.droppedPushes, faultsSeen).toBeGreaterThan(20);
        expect(stats.droppedAfterFaults, faultsSeen).toBeGreaterThan(0);
      }
      expect(stats.stalls, faultsSeen).toBeGreaterThan(0);
    }, 90_000);
  }
  it(`keeps reactions and replies exact at every quiet point under the same faults (seed ${SEED})`, async () => {
    const seed = SEED;
    const schedules = {
      sendCuts: new FaultSchedule(11, ROUND_REQUEST_CUT_GAP),
      ackCuts: new FaultSchedule(12, ROUND_REQUEST_CUT_GAP),
      pushDrops: new FaultSchedule(13, PUSH_DROP_GAP),
    };
    const pickLink = seededRandom(SEED * 7919 + 14);
    const dataDir = await makeDataDir();
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
    let server = await startTestServer(SERVER, dataDir);
    cleanup.push(() => server.dispose());
    const stats = noFaultsYet();
    const switches: FaultSwitches = { faults: false, drops: false };
    const proxy = await WsProxy.start(
      server.httpUrl,
      relayFaults(
        schedules,
        stats,
        switches,
        (frame) => frame.includes('"type":"send"') || frame.includes('"type":"react"'),
      ),
    );
    cleanup.push(() => proxy.close());

    const [alice, bob, carol] = [uid('alice'), uid('bob'), uid('carol')];
    const ab = await createDirect(server.httpUrl, alice, bob);
    const group = await createGroup(server.httpUrl, alice, [bob, carol], 'reactions');
    const membersOf = new Map([
      [ab, [alice, bob]],
      [group, [alice, bob, carol]],
    ]);
    // Alice's second device only reads: her reactions reach it as pushes, and must show as hers.
    const apps = [
      await app(alice, [group, ab], proxy),
      await app(alice, [], proxy),
      await app(bob, [group, ab], proxy),
      await app(carol, [group], proxy),
    ];
    const writers = apps.filter((a) => a.writes.length > 0);
    const appsIn = (id: string) => apps.filter((a) => membersOf.get(id)!.includes(a.user));
    for (const a of apps) {
      cleanup.push(async () => {
        a.state.close();
        a.client.close();
      });
    }
    await until(() => apps.every((a) => a.client.state === 'live'));

    const written = new Map<string, Set<string>>([...membersOf.keys()].map((id) => [id, new Set()]));
    /** client_msg_id -> the seq it answers, for each reply written. */
    const replies = new Map<string, number>();
    const reactionAcks: AckFrame[] = [];
    const sentBy = new Map<App, number>();
    const tally = { reactions: 0, replies: 0, withSeveralEmoji: 0, unanswered: {} as Record<string, number> };
    let restarting = Promise.resolve();
    const restart = async () => {
      await server.close();
      server = await startTestServer(SERVER, dataDir);
      proxy.retarget(server.httpUrl);
      stats.restarts += 1;
    };

    /** One writer's round: each action draws the same four numbers, whatever it turns out to be. */
    const act = async (a: App, writerIndex: number, round: number, handedOver: () => void) => {
      const random = seededRandom(SEED * 7919 + 100 + 10 * round + writerIndex);
      for (let i = 0; i < ACTIONS_PER_ROUND; i++) {
        const [kind, pick, emojiPick, actionPick] = [random(), random(), random(), random()];
        const conversation = a.writes[i % a.writes.length]!;
        handedOver();
        // Targets: the newest messages this device holds, so that reactions pile up on a few.
        const held = a.state
          .messages(conversation)
          .flatMap((m) => (m.seq === null ? [] : [m.seq]))
          .slice(-12);
        const target = held[Math.floor(pick * held.length)];
        if (target === undefined || kind < 0.45) {
          const replyTo = target !== undefined && kind < 0.15 ? target : undefined;
          const entry = await a.client.send(
            conversation,
            `${a.user} ${round}/${i}`,
            replyTo === undefined ? {} : { replyTo },
          );
          written.get(conversation)!.add(entry.clientMsgId);
          sentBy.set(a, (sentBy.get(a) ?? 0) + 1);
          if (replyTo !== undefined) replies.set(entry.clientMsgId, replyTo);
        } else {
          const emoji = EMOJI[Math.floor(emojiPick * EMOJI.length)]!;
          // Reacting needs the connection (like an edit): an app offers it only while connected.
          await until(() => a.client.state === 'live', 20_000);
          try {
            reactionAcks.push(
              await a.client.react(conversation, target, emoji, actionPick < 0.6 ? 'add' : 'remove'),
            );
          } catch (error) {
            // Cut on its way or offline: it may or may not be stored; the server's log says which.
            const code = (error as { code?: string }).code ?? 'unknown';
            tally.unanswered[code] = (tally.unanswered[code] ?? 0) + 1;
          }
        }
        if (i % BATCH === BATCH - 1) await sleep(120);
      }
    };

    /** Every device against the server, once nothing is in flight any more. */
    const checkQuietPoint = async (round: number) => {
      const context = `seed ${seed}, after round ${round + 1}`;
      await until(
        () => writers.every((a) => a.acked.size + a.failed.length === (sentBy.get(a) ?? 0)),
        20_000,
      ).catch(() => {
        throw new Error(`${context}: sends not settled: ${JSON.stringify(stats)}`);
      });
      // A react cut after it reached the server may still be committing: read until it stands still.
      const lastOf = (events: ChatEvent[]) => events.at(-1)?.seq ?? 0;
      let truth = new Map<string, ChatEvent[]>();
      for (;;) {
        const read = new Map<string, ChatEvent[]>();
        for (const [id, members] of membersOf)
          for (const user of members) read.set(`${id} ${user}`, await history(server, user, id));
        const caughtUp = () =>
          [...membersOf.keys()].every((id) =>
            appsIn(id).every((a) => {
              const stream = a.events.filter((e) => e.conversation_id === id);
              return lastOf(stream) >= lastOf(read.get(`${id} ${a.user}`)!);
            }),
          );
        await until(caughtUp, 20_000).catch(() => {
          throw new Error(`${context}: devices did not catch up: ${JSON.stringify(stats)}`);
        });
        const same = [...read].every(([key, events]) => truth.get(key)?.length === events.length);
        truth = read;
        if (same) break;
      }

      for (const a of apps) {
        expect(a.failed, context).toEqual([]);
        expect(await a.outbox.load(), context).toEqual([]);
      }
      for (const [id, members] of membersOf) {
        const stored = truth.get(`${id} ${members[0]}`)!;
        const storedMessages = stored.filter((e) => e.kind === 'message');
        expect(new Set(storedMessages.map((e) => e.client_msg_id)), context).toEqual(written.get(id));
        if (round === ROUNDS - 1)
          tally.withSeveralEmoji += storedMessages.filter(
            (e) => (e.reactions?.counts.length ?? 0) > 1,
          ).length;
        // The server's counts agree with its own log: each reaction event carries the count after it.
        const reactors = new Map<string, Set<string>>();
        for (const e of stored.filter((x) => x.kind === 'reaction')) {
          const key = `${e.ref_seq} ${e.data?.emoji}`;
          const users = reactors.get(key) ?? new Set();
          if (e.data?.action === 'add') users.add(e.sender_id);
          else users.delete(e.sender_id);
          reactors.set(key, users);
          expect(e.data?.count, `${context}: count of reaction ${e.seq}`).toBe(users.size);
        }
        for (const a of appsIn(id)) {
          const asSeen = truth.get(`${id} ${a.user}`)!;
          const stream = a.events.filter((e) => e.conversation_id === id);
          // Exactly once and in seq order, up to the log's end, and event for event as stored.
          const first = stream[0]!.seq;
          expect(
            stream.map((e) => e.seq),
            context,
          ).toEqual(stream.map((_, i) => first + i));
          expect(stream.at(-1)?.seq, context).toBe(asSeen.at(-1)?.seq);
          expect(stream.map(annotatedView), context).toEqual(
            asSeen.filter((e) => e.seq >= first).map(annotatedView),
          );
          // What the app shows of each message: its quote and its reactions (counts, order, me).
          const rendered = asSeen
            .filter((e) => e.kind === 'message')
            .map((e) => {
              const m = a.state.message(id, e.seq);
              return { seq: e.seq, replyTo: m?.replyTo, reactions: m?.reactions };
            });
          expect(rendered, `${context}: ${a.user}'s view`).toEqual(
            asSeen
              .filter((e) => e.kind === 'message')
              .map((e) => ({
                seq: e.seq,
                replyTo: e.data?.reply_to ?? null,
                reactions: e.reactions?.counts ?? [],
              })),
          );
        }
      }
      // Acked reactions are stored as acked; acked replies answer what they were sent to answer.
      for (const ack of reactionAcks) {
        const stored = truth.get(`${ack.conversation_id} ${ack.event?.sender_id}`)!;
        expect(annotatedView(stored.find((e) => e.seq === ack.seq)!), context).toBe(
          annotatedView(ack.event!),
        );
      }
      for (const [clientMsgId, replyTo] of replies) {
        const id = [...written].find(([, ids]) => ids.has(clientMsgId))![0];
        const stored = truth
          .get(`${id} ${membersOf.get(id)![0]}`)!
          .find((e) => e.client_msg_id === clientMsgId);
        expect(stored?.data?.reply_to?.seq, context).toBe(replyTo);
      }
    };

    const started = Date.now();
    for (let round = 0; round < ROUNDS; round++) {
      switches.faults = true;
      switches.drops = true;
      let issued = 0;
      const total = ACTIONS_PER_ROUND * writers.length;
      const handedOver = () => {
        issued += 1;
        if (issued % ROUND_CUT_EVERY === 0) cutOrStall(proxy, pickLink, stats);
        if (round === 1 && issued === Math.round(total / 2)) restarting = restarting.then(restart);
      };
      await Promise.all(writers.map((a, i) => act(a, i, round, handedOver)));
      switches.faults = false;
      switches.drops = false;
      await restarting;
      await checkQuietPoint(round);
    }
    tally.reactions = reactionAcks.length;
    tally.replies = replies.size;
    console.info(
      `flaky network, reactions (seed ${seed}): ${JSON.stringify(tally)} in ${Date.now() - started} ms; ${JSON.stringify(stats)}`,
    );
    const faultsSeen = `seed ${seed}: ${JSON.stringify(stats)} ${JSON.stringify(tally)}`;
    expect(stats.restarts, faultsSeen).toBe(1);
    expect(stats.sendCuts + stats.ackCuts, faultsSeen).toBeGreaterThanOrEqual(5);
    expect(stats.droppedPushes, faultsSeen).toBeGreaterThan(20);
    expect(stats.stalls, faultsSeen).toBeGreaterThan(0);
    expect(tally.reactions, faultsSeen).toBeGreaterThan(120);
    expect(tally.withSeveralEmoji, faultsSeen).toBeGreaterThan(5);
    expect(tally.replies, faultsSeen).toBeGreaterThan(20);
  }, 60_000);
});
