import type Database from 'better-sqlite3';

/** Events the indexer reads per step: about a millisecond of FTS5 work, so a commit waits little. */
export const INDEX_STEP_EVENTS = 64;

interface LoggedEvent {
  conversation_id: string;
  seq: number;
  pos: number;
  kind: string;
  sender_id: string;
  created_at: number;
  thread_root: number | null;
  ref_seq: number | null;
  body: string | null;
  deleted: number;
}

/**
 * Keeps message search (search_docs and its FTS5 index) up with the log, after the commits rather
 * than inside them: FTS5 work was about half of the writer's time per message (bench/sqlite-writer.mjs),
 * and indexing in steps of many documents costs less per document than one transaction each.
 *
 * It reads the log in position order from its cursor (meta 'search_pos', moved in the same
 * transaction as the documents, so a crash redoes a step rather than losing one) and applies what
 * the triggers used to: a message adds its current text (none once deleted), an edit replaces the
 * text of a message still there, a delete removes it. Applied in log order, that ends in the same
 * documents as applying each at its commit.
 *
 * Steps run on the writer thread between commits, with synchronous=NORMAL: a step's documents need
 * no fsync of their own, since the next commit's fsync covers the WAL frames before it, and a step
 * lost to a power cut is redone from the cursor. A search first asks for `catchUp` (through the
 * writer's queue), so it sees every message acked before it was asked for.
 */
export class SqliteSearchIndexer {
  private readonly sql;

  constructor(private readonly db: Database.Database) {
    this.sql = {
      cursor: db.prepare<[], { value: number }>(`SELECT value FROM meta WHERE key = 'search_pos'`),
      moveCursor: db.prepare<[number]>(`UPDATE meta SET value = ? WHERE key = 'search_pos'`),
      after: db.prepare<[number, number], LoggedEvent>(
        `SELECT conversation_id, seq, pos, kind, sender_id, created_at, thread_root, ref_seq, body, deleted
         FROM events WHERE pos > ? AND kind IN ('message', 'edit', 'delete') ORDER BY pos LIMIT ?`,
      ),
      add: db.prepare(
        `INSERT INTO search_docs (conversation_id, seq, sender_id, created_at, thread_root, changed_seq, body)
         VALUES (@conversation_id, @seq, @sender_id, @created_at, @thread_root, @seq, @body)
         ON CONFLICT (conversation_id, seq) DO NOTHING`,
      ),
      edit: db.prepare<[number, string, string, number]>(
        `INSERT INTO search_docs (conversation_id, seq, sender_id, created_at, thread_root, changed_seq, body)
         SELECT m.conversation_id, m.seq, m.sender_id, m.created_at, m.thread_root, ?, ?
         FROM events m WHERE m.conversation_id = ? AND m.seq = ? AND m.kind = 'message' AND m.deleted = 0
         ON CONFLICT (conversation_id, seq) DO UPDATE SET body = excluded.body, changed_seq = excluded.changed_seq
         WHERE excluded.changed_seq > search_docs.changed_seq`,
      ),
      remove: db.prepare<[string, number]>(`DELETE FROM search_docs WHERE conversation_id = ? AND seq = ?`),
      latest: db.prepare<[], { value: number }>(`SELECT value FROM meta WHERE key = 'position'`),
    };
  }

  /** True while committed events wait to be indexed. */
  get behind(): boolean {
    return this.sql.cursor.get()!.value < this.sql.latest.get()!.value;
  }

  /**
   * Indexes up to `limit` logged events after the cursor in one transaction; returns how many it
   * read (fewer than `limit`: caught up with what is committed).
   */
  step(limit = INDEX_STEP_EVENTS): number {
    this.db.pragma('synchronous = NORMAL');
    try {
      return this.db.transaction(() => {
        const latest = this.sql.latest.get()!.value;
        const events = this.sql.after.all(this.sql.cursor.get()!.value, limit);
        for (const event of events) this.apply(event);
        // Past the last event read, or (caught up) to the store's position: events of other kinds
        // in between need no second look.
        const reached = events.length === limit ? events[events.length - 1]!.pos : latest;
        this.sql.moveCursor.run(reached);
        return events.length;
      })();
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  /** Indexes everything committed so far. */
  catchUp(): void {
    let read: number;
    do read = this.step();
    while (read === INDEX_STEP_EVENTS);
  }

  private apply(event: LoggedEvent): void {
    const body = event.body ?? '';
    if (event.kind === 'message') {
      if (event.deleted === 0 && body !== '') this.sql.add.run(event);
    } else if (event.kind === 'edit') {
      if (body !== '' && event.ref_seq !== null)
        this.sql.edit.run(event.seq, body, event.conversation_id, event.ref_seq);
    } else if (event.ref_seq !== null) {
      this.sql.remove.run(event.conversation_id, event.ref_seq);
    }
  }
}
