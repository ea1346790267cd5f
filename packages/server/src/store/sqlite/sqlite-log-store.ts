import type Database from 'better-sqlite3';
import type { LogStore } from '../log-store.js';
import type { WriteOp, WriteResult } from '../write-ops.js';
import { SqliteLogReader } from './sqlite-log-reader.js';
import { SqliteLogWriter } from './sqlite-log-writer.js';

/**
 * The embedded log store. better-sqlite3 is synchronous and this process is its only writer, so a
 * commit runs to completion (fsync included) before any other work: reads never see half a batch.
 * Batching is the caller's job (see GroupCommitter): one commit call = one transaction = one fsync.
 */
export class SqliteLogStore implements LogStore {
  private readonly writer: SqliteLogWriter;
  private readonly reader: SqliteLogReader;

  constructor(private readonly db: Database.Database) {
    this.writer = new SqliteLogWriter(db);
    this.reader = new SqliteLogReader(db);
  }

  async commit(ops: WriteOp[]): Promise<WriteResult[]> {
    return this.writer.commit(ops);
  }

  async syncSince(userId: string, since: number, limit: number, eventsPerConversation: number) {
    return this.reader.syncSince(userId, since, limit, eventsPerConversation);
  }

  async fetchAfter(userId: string, conversationId: string, afterSeq: number, limit: number) {
    return this.reader.fetchAfter(userId, conversationId, afterSeq, limit);
  }

  async historyBefore(userId: string, conversationId: string, beforeSeq: number | null, limit: number) {
    return this.reader.historyBefore(userId, conversationId, beforeSeq, limit);
  }

  async conversationFor(userId: string, conversationId: string) {
    return this.reader.conversationFor(userId, conversationId);
  }

  async membersFor(userId: string, conversationId: string) {
    return this.reader.membersFor(userId, conversationId);
  }

  async memberSpans(conversationId: string) {
    return this.reader.memberSpans(conversationId);
  }

  async sharingConversationWith(userId: string, candidates: string[]) {
    return this.reader.sharingConversationWith(userId, candidates);
  }

  async latestPosition(userId: string) {
    return this.reader.latestPosition(userId);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
