import type { HeldSeqs, LogStore, SyncPage } from '../log-store.js';
import type { WriteOp, WriteResult } from '../write-ops.js';
import type { Queryable, Tx } from './postgres-connection.js';
import type { Guarded } from './postgres-health.js';
import type { PostgresLogReader } from './postgres-log-reader.js';
import type { PostgresLogWriter } from './postgres-log-writer.js';
import type { PostgresPool } from './postgres-pool.js';

/**
 * The cluster log store. Any number of nodes share one database: row locks order their writes
 * (see PostgresLogWriter) and the change clock orders their positions (see postgres-positions.ts).
 * Within this node, commits run one at a time in call order, so they commit and settle in the
 * order they were made, as the port requires; batching is the caller's job (GroupCommitter).
 * Reads of several statements run in a read-only REPEATABLE READ transaction: one snapshot per
 * call; a read of one statement runs on its own (a statement is its own snapshot), without the
 * reservation and the BEGIN and COMMIT.
 */
export class PostgresLogStore implements LogStore {
  /** The previous commit's settlement: the next one starts after it. */
  private lastCommit: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly pool: PostgresPool,
    private readonly writer: PostgresLogWriter,
    private readonly reader: PostgresLogReader,
    private readonly guard: Guarded,
  ) {}

  commit(ops: WriteOp[]): Promise<WriteResult[]> {
    const committed = this.lastCommit.then(() => this.guard(() => this.writer.commit(ops)));
    this.lastCommit = committed.catch(() => undefined);
    return committed;
  }

  private read<T>(read: (tx: Tx) => Promise<T>): Promise<T> {
    return this.guard(() => this.pool.transaction('ISOLATION LEVEL REPEATABLE READ READ ONLY', read));
  }

  private readOne<T>(read: (sql: Queryable) => Promise<T>): Promise<T> {
    return this.guard(() => read(this.pool.sql));
  }

  syncSince(
    userId: string,
    after: number,
    eventsSince: number,
    limit: number,
    eventsPerConversation: number,
    held?: HeldSeqs,
  ): Promise<SyncPage> {
    return this.read((tx) =>
      this.reader.syncSince(tx, userId, after, eventsSince, limit, eventsPerConversation, held),
    );
  }

  fetchAfter(userId: string, conversationId: string, afterSeq: number, limit: number) {
    return this.read((tx) => this.reader.fetchAfter(tx, userId, conversationId, afterSeq, limit));
  }

  historyBefore(userId: string, conversationId: string, beforeSeq: number | null, limit: number) {
    return this.read((tx) => this.reader.historyBefore(tx, userId, conversationId, beforeSeq, limit));
  }

  threadBefore(
    userId: string,
    conversationId: string,
    rootSeq: number,
    beforeThreadSeq: number | null,
    limit: number,
  ) {
    return this.read((tx) =>
      this.reader.threadBefore(tx, userId, conversationId, rootSeq, beforeThreadSeq, limit),
    );
  }

  conversationFor(userId: string, conversationId: string) {
    return this.read((tx) => this.reader.conversationFor(tx, userId, conversationId));
  }

  membersFor(userId: string, conversationId: string) {
    return this.read((tx) => this.reader.membersFor(tx, userId, conversationId));
  }

  memberSpans(conversationId: string) {
    return this.readOne((sql) => this.reader.memberSpans(sql, conversationId));
  }

  sharingConversationWith(userId: string, candidates: string[]) {
    return this.readOne((sql) => this.reader.sharingConversationWith(sql, userId, candidates));
  }

  seenAlongside(userId: string, candidates: string[]) {
    return this.readOne((sql) => this.reader.seenAlongside(sql, userId, candidates));
  }

  latestPosition(userId: string) {
    return this.read((tx) => this.reader.latestPosition(tx, userId));
  }

  channelsOf(userId: string) {
    return this.read((tx) => this.reader.channelsOf(tx, userId));
  }

  /** Waits for the commits already made, then closes the pool (queries under way finish first). */
  async close(): Promise<void> {
    await this.lastCommit;
    await this.pool.end();
  }
}
