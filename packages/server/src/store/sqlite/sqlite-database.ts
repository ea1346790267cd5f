import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { nameWords } from '../name-words.js';

/**
 * Schema migrations, applied in order; `user_version` records how many have run. Everything
 * conversation-scoped leads with conversation_id, the same shape the PostgreSQL schema uses.
 * A migration is SQL, or a function for what SQL cannot do here (SQLite's lower() is ASCII-only).
 */
const MIGRATIONS: Array<string | ((db: Database.Database) => void)> = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
  INSERT INTO meta (key, value) VALUES ('position', 0);

  CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT UNIQUE COLLATE NOCASE,
    display_name TEXT,
    password_hash TEXT,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
  ) WITHOUT ROWID;

  CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    title TEXT,
    direct_key TEXT UNIQUE,
    last_seq INTEGER NOT NULL,
    change_pos INTEGER NOT NULL,
    member_count INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE members (
    conversation_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    joined_seq INTEGER NOT NULL,
    left_seq INTEGER,
    left_pos INTEGER,
    delivered_seq INTEGER NOT NULL,
    read_seq INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
  ) WITHOUT ROWID;
  CREATE INDEX members_by_user ON members (user_id, conversation_id);

  CREATE TABLE events (
    conversation_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    pos INTEGER NOT NULL,
    kind TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    device_id TEXT,
    client_msg_id TEXT,
    body TEXT,
    ref_seq INTEGER,
    data TEXT,
    deleted INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, seq)
  ) WITHOUT ROWID;
  CREATE UNIQUE INDEX events_dedupe ON events (conversation_id, sender_id, client_msg_id)
    WHERE client_msg_id IS NOT NULL;
  `,
  // What points at a message: replies (reply_seq), edits, reactions and pins (ref_seq), the
  // running reaction counts a read folds in, pins, mentions for the per-member counts, and each
  // member's notification level.
  `
  ALTER TABLE events ADD COLUMN reply_seq INTEGER;
  CREATE INDEX events_by_ref ON events (conversation_id, ref_seq) WHERE ref_seq IS NOT NULL;
  CREATE INDEX events_by_reply ON events (conversation_id, reply_seq) WHERE reply_seq IS NOT NULL;
  ALTER TABLE members ADD COLUMN notifications TEXT NOT NULL DEFAULT 'all';

  CREATE TABLE reactions (
    conversation_id TEXT NOT NULL,
    target_seq INTEGER NOT NULL,
    emoji TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (conversation_id, target_seq, emoji, user_id)
  ) WITHOUT ROWID;

  CREATE TABLE reaction_counts (
    conversation_id TEXT NOT NULL,
    target_seq INTEGER NOT NULL,
    emoji TEXT NOT NULL,
    count INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, target_seq, emoji)
  ) WITHOUT ROWID;

  CREATE TABLE pins (
    conversation_id TEXT NOT NULL,
    target_seq INTEGER NOT NULL,
    pinned_seq INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, target_seq)
  ) WITHOUT ROWID;

  CREATE TABLE mentions (
    conversation_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    sender_id TEXT NOT NULL,
    PRIMARY KEY (conversation_id, user_id, seq)
  ) WITHOUT ROWID;
  `,
  // Threads: a reply's place in its thread (thread_root, thread_seq: gap-free per root), the
  // running summary on each root, and each follower's read cursor in it. And who may mention
  // @all / @here in a group.
  `
  ALTER TABLE conversations ADD COLUMN group_mentions TEXT NOT NULL DEFAULT 'anyone';
  ALTER TABLE events ADD COLUMN thread_root INTEGER;
  ALTER TABLE events ADD COLUMN thread_seq INTEGER;
  CREATE UNIQUE INDEX events_by_thread ON events (conversation_id, thread_root, thread_seq)
    WHERE thread_root IS NOT NULL;

  CREATE TABLE threads (
    conversation_id TEXT NOT NULL,
    root_seq INTEGER NOT NULL,
    reply_count INTEGER NOT NULL,
    last_reply_seq INTEGER NOT NULL,
    last_reply_at INTEGER NOT NULL,
    participants TEXT NOT NULL,
    PRIMARY KEY (conversation_id, root_seq)
  ) WITHOUT ROWID;

  CREATE TABLE thread_reads (
    conversation_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    root_seq INTEGER NOT NULL,
    read_seq INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, user_id, root_seq)
  ) WITHOUT ROWID;
  `,
  // Message search: the current text of every message that is not deleted (search_docs, its id
  // increasing in log order, so newest-first is id DESC), and an FTS5 index over it (external
  // content). Triggers on events keep both in the writer's transaction: a message adds its text,
  // an edit replaces it (changed_seq: the edit's seq), a delete removes it. Then the backfill.
  `
  CREATE TABLE search_docs (
    id INTEGER PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    sender_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    thread_root INTEGER,
    changed_seq INTEGER NOT NULL,
    body TEXT NOT NULL
  );
  CREATE UNIQUE INDEX search_docs_by_message ON search_docs (conversation_id, seq);
  CREATE VIRTUAL TABLE search_fts USING fts5(
    body, content = 'search_docs', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
  );

  CREATE TRIGGER search_docs_added AFTER INSERT ON search_docs BEGIN
    INSERT INTO search_fts (rowid, body) VALUES (new.id, new.body);
  END;
  CREATE TRIGGER search_docs_removed AFTER DELETE ON search_docs BEGIN
    INSERT INTO search_fts (search_fts, rowid, body) VALUES ('delete', old.id, old.body);
  END;
  CREATE TRIGGER search_docs_changed AFTER UPDATE OF body ON search_docs BEGIN
    INSERT INTO search_fts (search_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO search_fts (rowid, body) VALUES (new.id, new.body);
  END;

  CREATE TRIGGER events_search_message AFTER INSERT ON events
  WHEN new.kind = 'message' AND coalesce(new.body, '') != '' BEGIN
    INSERT INTO search_docs (conversation_id, seq, sender_id, created_at, thread_root, changed_seq, body)
    VALUES (new.conversation_id, new.seq, new.sender_id, new.created_at, new.thread_root, new.seq, new.body);
  END;
  CREATE TRIGGER events_search_edit AFTER INSERT ON events
  WHEN new.kind = 'edit' AND coalesce(new.body, '') != '' BEGIN
    INSERT INTO search_docs (conversation_id, seq, sender_id, created_at, thread_root, changed_seq, body)
    SELECT m.conversation_id, m.seq, m.sender_id, m.created_at, m.thread_root, new.seq, new.body
    FROM events m WHERE m.conversation_id = new.conversation_id AND m.seq = new.ref_seq AND m.deleted = 0
    ON CONFLICT (conversation_id, seq) DO UPDATE SET body = excluded.body, changed_seq = excluded.changed_seq;
  END;
  CREATE TRIGGER events_search_delete AFTER UPDATE OF deleted ON events
  WHEN new.kind = 'message' AND new.deleted = 1 AND old.deleted = 0 BEGIN
    DELETE FROM search_docs WHERE conversation_id = new.conversation_id AND seq = new.seq;
  END;

  INSERT INTO search_docs (conversation_id, seq, sender_id, created_at, thread_root, changed_seq, body)
  SELECT conversation_id, seq, sender_id, created_at, thread_root, coalesce(edit_seq, seq), text FROM (
    SELECT m.*, e.seq AS edit_seq, coalesce(e.body, m.body) AS text FROM events m
    LEFT JOIN events e ON e.conversation_id = m.conversation_id AND e.kind = 'edit' AND e.ref_seq = m.seq
      AND e.seq = (SELECT max(x.seq) FROM events x WHERE x.conversation_id = m.conversation_id
        AND x.kind = 'edit' AND x.ref_seq = m.seq)
    WHERE m.kind = 'message' AND m.deleted = 0
  ) WHERE coalesce(text, '') != '' ORDER BY pos;
  `,
  // Profiles and finding people: each user's name words (see name-words.ts) for the user search,
  // read as prefix ranges (binary order), and by user to re-index; avatars and their version on
  // the user; sessions by user, for revoking them all at a password reset. Then the backfill.
  (db) => {
    db.exec(`
    ALTER TABLE users ADD COLUMN avatar_tag TEXT;
    CREATE TABLE avatars (
      user_id TEXT PRIMARY KEY,
      content_type TEXT NOT NULL,
      bytes BLOB NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE user_name_words (
      word TEXT NOT NULL,
      user_id TEXT NOT NULL,
      PRIMARY KEY (word, user_id)
    ) WITHOUT ROWID;
    CREATE INDEX user_name_words_by_user ON user_name_words (user_id);
    CREATE INDEX sessions_by_user ON sessions (user_id);
    `);
    const insert = db.prepare<[string, string]>(`INSERT INTO user_name_words (word, user_id) VALUES (?, ?)`);
    const users = db.prepare<[], { id: string; username: string | null; display_name: string | null }>(
      `SELECT id, username, display_name FROM users`,
    );
    for (const user of users.all()) {
      for (const word of nameWords(user.username, user.display_name)) insert.run(word, user.id);
    }
  },
  // A former member's mark that the conversation is hidden from their list (cleared on re-add).
  `ALTER TABLE members ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0;`,
  // Push notifications: the devices that asked for them (a token is one device), and the durable
  // queue, one job per (token, conversation) so that pushes coalesce, claimed by due time.
  `
  CREATE TABLE push_devices (
    token TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    keys TEXT,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX push_devices_by_user ON push_devices (user_id);
  CREATE TABLE push_jobs (
    token TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    message TEXT NOT NULL,
    version INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (token, conversation_id)
  ) WITHOUT ROWID;
  CREATE INDEX push_jobs_by_due ON push_jobs (due_at);
  `,
  // Bots: users a product's backend marks as automated senders (the server API), shown as such.
  `ALTER TABLE users ADD COLUMN bot INTEGER NOT NULL DEFAULT 0;`,
  // Webhooks: the registrations, the durable delivery queue (claimed by due time) and its attempt
  // log; deliveries are fanned out from the log in position order, so events get an index by
  // position and the fan-out a cursor (in meta), starting at the present.
  `
  CREATE INDEX events_by_pos ON events (pos);
  CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    description TEXT,
    enabled INTEGER NOT NULL,
    secret TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    from_pos INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    webhook_id TEXT NOT NULL,
    type TEXT NOT NULL,
    payload TEXT NOT NULL,
    event_pos INTEGER NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    last_status INTEGER,
    last_error TEXT,
    delivered_at INTEGER
  ) WITHOUT ROWID;
  CREATE INDEX webhook_deliveries_due ON webhook_deliveries (due_at, event_pos) WHERE status = 'pending';
  CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, created_at);
  CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    status_code INTEGER,
    error TEXT,
    duration_ms INTEGER NOT NULL
  );
  CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id, at);
  INSERT INTO meta (key, value) SELECT 'webhook_cursor', coalesce(max(pos), 0) FROM events;
  `,
  // A push device remembers the session that registered it: a push skips it while that session is live.
  `ALTER TABLE push_devices ADD COLUMN session_key TEXT;`,
  // The per-user change index: each membership's view position (its conversation's change_pos for a
  // current member, the frozen left_pos for a former one), kept by triggers in the writer's own
  // transaction, indexed by (user_id, view_pos). A heartbeat's change token is then the top entry
  // of one index range, and a resume reads only the conversations that changed, instead of walking
  // every membership of the user (about 35 ms per ping for a user in 20,000 groups). Channels stay
  // out of it: they fan out on read, and a post must not write a row per member.
  `
  CREATE TABLE user_views (
    user_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    view_pos INTEGER NOT NULL,
    PRIMARY KEY (user_id, conversation_id)
  ) WITHOUT ROWID;
  CREATE INDEX user_views_by_change ON user_views (user_id, view_pos);
  INSERT INTO user_views (user_id, conversation_id, view_pos)
  SELECT m.user_id, m.conversation_id, CASE WHEN m.left_seq IS NULL THEN c.change_pos ELSE m.left_pos END
  FROM members m JOIN conversations c ON c.id = m.conversation_id;

  CREATE TRIGGER user_views_joined AFTER INSERT ON members BEGIN
    INSERT INTO user_views (user_id, conversation_id, view_pos)
    SELECT new.user_id, new.conversation_id, change_pos FROM conversations
    WHERE id = new.conversation_id AND kind != 'channel'
    ON CONFLICT (user_id, conversation_id) DO UPDATE SET view_pos = excluded.view_pos;
  END;
  CREATE TRIGGER user_views_frozen AFTER UPDATE OF left_pos ON members WHEN new.left_pos IS NOT NULL BEGIN
    UPDATE user_views SET view_pos = new.left_pos
    WHERE user_id = new.user_id AND conversation_id = new.conversation_id;
  END;
  CREATE TRIGGER user_views_follow AFTER UPDATE OF change_pos ON conversations
  WHEN new.change_pos != old.change_pos AND new.kind != 'channel' BEGIN
    UPDATE user_views SET view_pos = new.change_pos
    WHERE (user_id, conversation_id) IN (
      SELECT user_id, conversation_id FROM members WHERE conversation_id = new.id AND left_seq IS NULL
    );
  END;
  `,
  // Message search is indexed after the commits, from the log, by sqlite-search-indexer.ts (its
  // cursor in meta), instead of by triggers inside every commit; the documents so far are current.
  `
  DROP TRIGGER events_search_message;
  DROP TRIGGER events_search_edit;
  DROP TRIGGER events_search_delete;
  INSERT INTO meta (key, value) SELECT 'search_pos', value FROM meta WHERE key = 'position';
  `,
  // Channels: who may post, and each user's channel memberships (current and former) with the
  // position of the member's own last change there. A channel fans out on read: a post moves only
  // its conversation's change_pos, and a resume reads these rows (a user is in few channels). A
  // channel's members list is its owners and admins: found without reading its other members.
  `
  ALTER TABLE conversations ADD COLUMN posting TEXT NOT NULL DEFAULT 'everyone';
  CREATE INDEX members_managers ON members (conversation_id) WHERE role != 'member';
  CREATE TABLE user_channels (
    user_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    own_pos INTEGER NOT NULL,
    PRIMARY KEY (user_id, conversation_id)
  ) WITHOUT ROWID;
  `,
  // A conversation's top-level messages, for its summary (the last one, the unread count): read by
  // walking the log, those skipped every other event after them (in a channel of 100,000 members,
  // ~99,000 member_added events: 30-40 ms per summary).
  `CREATE INDEX events_top_messages ON events (conversation_id, seq) WHERE kind = 'message' AND thread_root IS NULL;`,
];

/**
 * Opens (creating if needed) the embedded database: WAL with synchronous=FULL, so a commit is on
 * disk (fsync) before it returns, and migrates it.
 */
export function openSqlite(dataDir: string): Database.Database {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, 'natter.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('cache_size = -65536');
  db.pragma('temp_store = MEMORY');
  migrate(db);
  return db;
}

/**
 * A read-only connection to a database openSqlite has already opened and migrated (the search
 * thread's). In WAL mode it reads a snapshot while the writer commits, and neither waits for the other.
 */
export function openSqliteReadOnly(dataDir: string): Database.Database {
  const db = new Database(join(dataDir, 'natter.db'), { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  db.pragma('cache_size = -65536');
  db.pragma('temp_store = MEMORY');
  return db;
}

function migrate(db: Database.Database): void {
  const applied = db.pragma('user_version', { simple: true }) as number;
  for (let i = applied; i < MIGRATIONS.length; i++) {
    db.transaction(() => {
      const migration = MIGRATIONS[i]!;
      if (typeof migration === 'string') db.exec(migration);
      else migration(db);
      db.pragma(`user_version = ${i + 1}`);
    })();
  }
}
