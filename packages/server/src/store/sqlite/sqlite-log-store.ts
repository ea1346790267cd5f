import type Database from 'better-sqlite3';
import type { HeldSeqs, LogStore } from '../log-store.js';
import type { WriteOp, WriteResult } from '../write-ops.js';
import { SqliteLogReader } from './sqlite-log-reader.js';
import type { SqliteWriterClient } from './sqlite-writer-client.js';

/**
 * The embedded log store: one writer thread (SqliteLogWriter behind SqliteWriterClient) and reads
 * on this thread's connection. WAL gives readers a consistent snapshot while the writer commits, and
 * a commit is visible here as soon as the writer reports it, before anyone is told of it.
 * Batching is the caller's job (see GroupCommitter): one commit call = one transaction = one fsync.
 */
export class SqliteLogStore implements LogStore {
  private readonly reader: SqliteLogReader;
  /** Runs a read in one transaction: its queries see one snapshot while the writer thread commits. */
  private readonly snapshot: (read: () => unknown) => unknown;

  constructor(
    private readonly db: Database.Database,
    private readonly writer: SqliteWriterClient,
  ) {
    this.reader = new SqliteLogReader(db);
    this.snapshot = db.transaction((read: () => unknown) => read());
  }

  private read<T>(read: () => T): Promise<T> {
    return Promise.resolve(this.snapshot(read) as T);
  }

  async commit(ops: WriteOp[]): Promise<WriteResult[]> {
    return this.writer.commit(ops);
  }

  syncSince(
    userId: string,
    after: number,
    eventsSince: number,
    limit: number,
    eventsPerConversation: number,
    held?: HeldSeqs,
  ) {
    return this.read(() =>
      this.reader.syncSince(userId, after, eventsSince, limit, eventsPerConversation, held),
    );
  }

  fetchAfter(userId: string, conversationId: string, afterSeq: number, limit: number) {
    return this.read(() => this.reader.fetchAfter(userId, conversationId, afterSeq, limit));
  }

  historyBefore(userId: string, conversationId: string, beforeSeq: number | null, limit: number) {
    return this.read(() => this.reader.historyBefore(userId, conversationId, beforeSeq, limit));
  }

  threadBefore(
    userId: string,
    conversationId: string,
    rootSeq: number,
    beforeThreadSeq: number | null,
    limit: number,
  ) {
    return this.read(() => this.reader.threadBefore(userId, conversationId, rootSeq, beforeThreadSeq, limit));
  }

  conversationFor(userId: string, conversationId: string) {
    return this.read(() => this.reader.conversationFor(userId, conversationId));
  }

  membersFor(userId: string, conversationId: string) {
    return this.read(() => this.reader.membersFor(userId, conversationId));
  }

  memberSpans(conversationId: string) {
    return this.read(() => this.reader.memberSpans(conversationId));
  }

  sharingConversationWith(userId: string, candidates: string[]) {
    return this.read(() => this.reader.sharingConversationWith(userId, candidates));
  }

  seenAlongside(userId: string, candidates: string[]) {
    return this.read(() => this.reader.seenAlongside(userId, candidates));
  }

  latestPosition(userId: string) {
    return this.read(() => this.reader.latestPosition(userId));
  }

  channelsOf(userId: string) {
    return this.read(() => this.reader.channelsOf(userId));
  }

  async close(): Promise<void> {
    await this.writer.close();
    if (this.db.open) this.db.close();
  }
}
