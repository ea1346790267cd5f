import { useSearchLanguage } from './postgres-message-search.js';
import type { PostgresPool } from './postgres-pool.js';

/**
 * Schema migrations, applied in order; `schema_migrations` records which have run.
 *
 * Distribution (Citus, YugabyteDB, CockroachDB): every conversation-scoped table leads its primary
 * key and indexes with conversation_id, so it can be hash-distributed by conversation and a write
 * touches one shard per conversation. Two tables are keyed for other lookups and distribute by
 * their own leading column: `direct_conversations` by direct_key (find-or-create of a 1:1) and
 * `user_conversations` by user_id (a user's change index for resume). `change_clock` is one row,
 * and users and sessions are keyed by their own ids.
 */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE change_clock (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    position bigint NOT NULL
  );
  INSERT INTO change_clock (id, position) VALUES (true, 0);

  CREATE TABLE users (
    id text PRIMARY KEY,
    username text,
    display_name text,
    password_hash text,
    created_at bigint NOT NULL
  );
  CREATE UNIQUE INDEX users_username_key ON users (lower(username));

  CREATE TABLE sessions (
    token_hash text PRIMARY KEY,
    user_id text NOT NULL,
    expires_at bigint NOT NULL,
    revoked_at bigint
  );

  CREATE TABLE conversations (
    id text PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('direct', 'group')),
    title text,
    last_seq bigint NOT NULL,
    change_pos bigint NOT NULL,
    member_count integer NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
  );

  -- Distributable by direct_key: the sorted pair, so "the 1:1 between A and B" is found idempotently.
  CREATE TABLE direct_conversations (
    direct_key text PRIMARY KEY,
    conversation_id text NOT NULL
  );

  CREATE TABLE members (
    conversation_id text NOT NULL,
    user_id text NOT NULL,
    role text NOT NULL,
    joined_seq bigint NOT NULL,
    left_seq bigint,
    left_pos bigint,
    delivered_seq bigint NOT NULL,
    read_seq bigint NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
  );

  -- Distributable by user_id: one row per conversation a user is or was in, with the position at
  -- which their view of it last changed, so a resume reads only the rows that changed.
  CREATE TABLE user_conversations (
    user_id text NOT NULL,
    conversation_id text NOT NULL,
    view_pos bigint NOT NULL,
    PRIMARY KEY (user_id, conversation_id)
  );
  CREATE INDEX user_conversations_by_change ON user_conversations (user_id, view_pos);

  CREATE TABLE events (
    conversation_id text NOT NULL,
    seq bigint NOT NULL,
    pos bigint NOT NULL,
    kind text NOT NULL,
    sender_id text NOT NULL,
    device_id text,
    client_msg_id text,
    body text,
    ref_seq bigint,
    data jsonb,
    deleted boolean NOT NULL DEFAULT false,
    created_at bigint NOT NULL,
    PRIMARY KEY (conversation_id, seq)
  );
  CREATE UNIQUE INDEX events_dedupe ON events (conversation_id, sender_id, client_msg_id)
    WHERE client_msg_id IS NOT NULL;
  `,
  // What points at a message: replies (reply_seq), edits, reactions and pins (ref_seq), the
  // running reaction counts a read folds in, pins, mentions for the per-member counts, and each
  // member's notification level. All keyed by conversation_id first, like the rest.
  `
  ALTER TABLE events ADD COLUMN reply_seq bigint;
  CREATE INDEX events_by_ref ON events (conversation_id, ref_seq) WHERE ref_seq IS NOT NULL;
  CREATE INDEX events_by_reply ON events (conversation_id, reply_seq) WHERE reply_seq IS NOT NULL;
  ALTER TABLE members ADD COLUMN notifications text NOT NULL DEFAULT 'all'
    CHECK (notifications IN ('all', 'mentions', 'none'));

  CREATE TABLE reactions (
    conversation_id text NOT NULL,
    target_seq bigint NOT NULL,
    emoji text NOT NULL,
    user_id text NOT NULL,
    PRIMARY KEY (conversation_id, target_seq, emoji, user_id)
  );

  CREATE TABLE reaction_counts (
    conversation_id text NOT NULL,
    target_seq bigint NOT NULL,
    emoji text NOT NULL,
    count integer NOT NULL,
    first_seq bigint NOT NULL,
    last_seq bigint NOT NULL,
    PRIMARY KEY (conversation_id, target_seq, emoji)
  );

  CREATE TABLE pins (
    conversation_id text NOT NULL,
    target_seq bigint NOT NULL,
    pinned_seq bigint NOT NULL,
    PRIMARY KEY (conversation_id, target_seq)
  );

  CREATE TABLE mentions (
    conversation_id text NOT NULL,
    user_id text NOT NULL,
    seq bigint NOT NULL,
    sender_id text NOT NULL,
    PRIMARY KEY (conversation_id, user_id, seq)
  );
  `,
  // Threads: a reply's place in its thread (thread_root, thread_seq: gap-free per root), the
  // running summary on each root, and each follower's read cursor in it. And who may mention
  // @all / @here in a group.
  `
  ALTER TABLE conversations ADD COLUMN group_mentions text NOT NULL DEFAULT 'anyone'
    CHECK (group_mentions IN ('anyone', 'admins'));
  ALTER TABLE events ADD COLUMN thread_root bigint;
  ALTER TABLE events ADD COLUMN thread_seq bigint;
  CREATE UNIQUE INDEX events_by_thread ON events (conversation_id, thread_root, thread_seq)
    WHERE thread_root IS NOT NULL;

  CREATE TABLE threads (
    conversation_id text NOT NULL,
    root_seq bigint NOT NULL,
    reply_count bigint NOT NULL,
    last_reply_seq bigint NOT NULL,
    last_reply_at bigint NOT NULL,
    participants jsonb NOT NULL,
    PRIMARY KEY (conversation_id, root_seq)
  );

  CREATE TABLE thread_reads (
    conversation_id text NOT NULL,
    user_id text NOT NULL,
    root_seq bigint NOT NULL,
    read_seq bigint NOT NULL,
    PRIMARY KEY (conversation_id, user_id, root_seq)
  );
  `,
  // Message search: the current text of every message that is not deleted, as a tsvector in the
  // language of search_config (NATTER_SEARCH_LANGUAGE) plus one lexeme naming its conversation
  // ('§' and the id: no parser makes a word with '§'), so the GIN index narrows a word to the
  // caller's conversations before any row is read; the primary key (conversation_id, seq) walked
  // backwards serves very common words (see postgres-message-search.ts). A trigger on events
  // keeps it in the writer's transaction: a message adds its text, an edit replaces it
  // (changed_seq: the edit's seq), a delete removes it. Then the backfill.
  `
  CREATE TABLE search_config (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    language regconfig NOT NULL
  );
  INSERT INTO search_config (id, language) VALUES (true, 'simple');

  CREATE TABLE message_search (
    conversation_id text NOT NULL,
    seq bigint NOT NULL,
    pos bigint NOT NULL,
    sender_id text NOT NULL,
    created_at bigint NOT NULL,
    thread_root bigint,
    changed_seq bigint NOT NULL,
    body text NOT NULL,
    tsv tsvector NOT NULL,
    PRIMARY KEY (conversation_id, seq)
  );
  CREATE INDEX message_search_tsv ON message_search USING gin (tsv);

  CREATE FUNCTION natter_search_vector(lang regconfig, conversation_id text, body text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT to_tsvector(lang, body) || array_to_tsvector(ARRAY['§' || conversation_id]) $$;

  CREATE FUNCTION natter_index_message() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE
    lang regconfig := (SELECT language FROM search_config);
  BEGIN
    IF TG_OP = 'INSERT' AND NEW.kind = 'message' AND coalesce(NEW.body, '') <> '' THEN
      INSERT INTO message_search VALUES (NEW.conversation_id, NEW.seq, NEW.pos, NEW.sender_id,
        NEW.created_at, NEW.thread_root, NEW.seq, NEW.body,
        natter_search_vector(lang, NEW.conversation_id, NEW.body));
    ELSIF TG_OP = 'INSERT' AND NEW.kind = 'edit' AND coalesce(NEW.body, '') <> '' THEN
      INSERT INTO message_search
      SELECT m.conversation_id, m.seq, m.pos, m.sender_id, m.created_at, m.thread_root, NEW.seq,
        NEW.body, natter_search_vector(lang, m.conversation_id, NEW.body)
      FROM events m WHERE m.conversation_id = NEW.conversation_id AND m.seq = NEW.ref_seq AND NOT m.deleted
      ON CONFLICT (conversation_id, seq) DO UPDATE
        SET body = excluded.body, changed_seq = excluded.changed_seq, tsv = excluded.tsv;
    ELSIF TG_OP = 'UPDATE' AND NEW.kind = 'message' AND NEW.deleted AND NOT OLD.deleted THEN
      DELETE FROM message_search WHERE conversation_id = NEW.conversation_id AND seq = NEW.seq;
    END IF;
    RETURN NULL;
  END $$;
  CREATE TRIGGER events_search AFTER INSERT OR UPDATE OF deleted ON events
    FOR EACH ROW EXECUTE FUNCTION natter_index_message();

  INSERT INTO message_search
  SELECT m.conversation_id, m.seq, m.pos, m.sender_id, m.created_at, m.thread_root,
    coalesce(e.seq, m.seq), coalesce(e.body, m.body),
    natter_search_vector('simple', m.conversation_id, coalesce(e.body, m.body))
  FROM events m
  LEFT JOIN LATERAL (
    SELECT x.seq, x.body FROM events x WHERE x.conversation_id = m.conversation_id AND x.kind = 'edit'
      AND x.ref_seq = m.seq ORDER BY x.seq DESC LIMIT 1
  ) e ON true
  WHERE m.kind = 'message' AND NOT m.deleted AND coalesce(e.body, m.body, '') <> '';
  `,
  // Profiles and finding people: each user's name words (see name-words.ts, which computes them
  // for every write) for the user search, read as prefix ranges in binary order (COLLATE "C"),
  // and by user to re-index; avatars and their version on the user; sessions by user, for
  // revoking them all at a password reset. Keyed by user id, like users. Then the backfill, the
  // same words as name-words.ts in SQL.
  `
  ALTER TABLE users ADD COLUMN avatar_tag text;
  CREATE TABLE avatars (
    user_id text PRIMARY KEY,
    content_type text NOT NULL,
    bytes bytea NOT NULL
  );
  CREATE TABLE user_name_words (
    word text COLLATE "C" NOT NULL,
    user_id text NOT NULL,
    PRIMARY KEY (word, user_id)
  );
  CREATE INDEX user_name_words_by_user ON user_name_words (user_id);
  CREATE INDEX sessions_by_user ON sessions (user_id);

  INSERT INTO user_name_words (word, user_id)
  SELECT DISTINCT word, id FROM (
    SELECT id, lower(username) AS word FROM users WHERE username IS NOT NULL
    UNION ALL
    SELECT id, w FROM users, regexp_split_to_table(lower(coalesce(display_name, '')), '[^[:alnum:]_.-]+') w
    UNION ALL
    SELECT id, w FROM users, regexp_split_to_table(lower(coalesce(display_name, '')), '[^[:alnum:]]+') w
  ) words WHERE word <> '';
  `,
  // A former member's mark that the conversation is hidden from their list (cleared on re-add).
  `ALTER TABLE members ADD COLUMN hidden smallint NOT NULL DEFAULT 0;`,
  // Push notifications: the devices that asked for them (a token is one device), and the durable
  // queue, one job per (token, conversation) so that pushes coalesce, claimed by due time. Keyed by
  // token: distributed by it, a claim touches the shards it needs.
  `
  CREATE TABLE push_devices (
    token text PRIMARY KEY,
    user_id text NOT NULL,
    provider text NOT NULL,
    keys text,
    created_at bigint NOT NULL
  );
  CREATE INDEX push_devices_by_user ON push_devices (user_id);
  CREATE TABLE push_jobs (
    token text NOT NULL,
    conversation_id text NOT NULL,
    message text NOT NULL,
    version integer NOT NULL,
    attempts integer NOT NULL,
    due_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    PRIMARY KEY (token, conversation_id)
  );
  CREATE INDEX push_jobs_by_due ON push_jobs (due_at);
  `,
  // Bots: users a product's backend marks as automated senders (the server API), shown as such.
  `ALTER TABLE users ADD COLUMN bot boolean NOT NULL DEFAULT false;`,
  // Webhooks: the registrations, the durable delivery queue (claimed by due time with SKIP LOCKED)
  // and its attempt log; deliveries are fanned out from the log in position order (commit order,
  // see postgres-positions.ts), so events get an index by position and the fan-out one cursor
  // row, starting at the present.
  `
  CREATE INDEX events_by_pos ON events (pos);
  CREATE TABLE webhooks (
    id text PRIMARY KEY,
    url text NOT NULL,
    events text NOT NULL,
    description text,
    enabled boolean NOT NULL,
    secret text NOT NULL,
    created_at bigint NOT NULL,
    from_pos bigint NOT NULL
  );
  CREATE TABLE webhook_deliveries (
    id text PRIMARY KEY,
    webhook_id text NOT NULL,
    type text NOT NULL,
    payload text NOT NULL,
    event_pos bigint NOT NULL,
    status text NOT NULL,
    attempts integer NOT NULL,
    created_at bigint NOT NULL,
    due_at bigint NOT NULL,
    last_status integer,
    last_error text,
    delivered_at bigint
  );
  CREATE INDEX webhook_deliveries_due ON webhook_deliveries (due_at, event_pos) WHERE status = 'pending';
  CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, created_at);
  CREATE TABLE webhook_attempts (
    delivery_id text NOT NULL,
    at bigint NOT NULL,
    status_code integer,
    error text,
    duration_ms integer NOT NULL
  );
  CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id, at);
  CREATE TABLE webhook_cursor (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    position bigint NOT NULL
  );
  INSERT INTO webhook_cursor (id, position) SELECT true, coalesce(max(pos), 0) FROM events;
  `,
  // A push device remembers the session that registered it: a push skips it while that session is live.
  `ALTER TABLE push_devices ADD COLUMN session_key text;`,
  // Channels: a third kind, who may post, and each user's channel memberships (current and former)
  // with the position of the member's own last change there. Distributable by user_id, like
  // user_conversations; channels stay out of that index (a post would stamp every member's row):
  // a resume reads these rows and each channel's change_pos (a user is in few channels).
  `
  ALTER TABLE conversations DROP CONSTRAINT conversations_kind_check;
  ALTER TABLE conversations ADD CONSTRAINT conversations_kind_check
    CHECK (kind IN ('direct', 'group', 'channel'));
  ALTER TABLE conversations ADD COLUMN posting text NOT NULL DEFAULT 'everyone'
    CHECK (posting IN ('everyone', 'admins'));
  CREATE TABLE user_channels (
    user_id text NOT NULL,
    conversation_id text NOT NULL,
    own_pos bigint NOT NULL,
    PRIMARY KEY (user_id, conversation_id)
  );
  -- A channel's members list is its owners and admins: found without reading its other members.
  CREATE INDEX members_managers ON members (conversation_id) WHERE role <> 'member';
  `,
  // Search rows of messages written op by op kept the batch's ordinal for a position (their events
  // are stamped after the insert that indexed them); the commit's tail now stamps them too.
  `
  UPDATE message_search ms SET pos = e.pos FROM events e
  WHERE e.conversation_id = ms.conversation_id AND e.seq = ms.seq AND ms.pos <> e.pos;
  `,
  // A conversation's top-level messages, for its summary (the last one, the unread count): read by
  // walking the log, those skipped every other event after them (in a channel of 100,000 members,
  // ~99,000 member_added events: about 80 ms per summary).
  `CREATE INDEX events_top_messages ON events (conversation_id, seq) WHERE kind = 'message' AND thread_root IS NULL;`,
];

/** Migrations may rewrite large tables and wait for other nodes' turns: no 15 s bound for them. */
const MIGRATION_TIMEOUT_MS = 60 * 60 * 1000;

/** Any fixed key works: it only has to be the same on every node. */
const MIGRATION_LOCK_KEY = 0x6e617474; // "natt"

/**
 * Brings the schema up to date in one transaction. Several nodes may start at once: a
 * transaction-level advisory lock makes them take turns, and each reads `schema_migrations` only
 * under the lock (READ COMMITTED: a fresh snapshot per statement), so every migration runs once.
 * DDL is transactional in PostgreSQL: a failed migration leaves nothing behind. Then the search
 * index is put in `searchLanguage`, under the same lock.
 */
export async function migrate(pool: PostgresPool, searchLanguage = 'simple'): Promise<void> {
  await pool.transaction(
    'ISOLATION LEVEL READ COMMITTED',
    async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
      await tx`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`;
      const [row] = await tx<
        { version: number | null }[]
      >`SELECT max(version) AS version FROM schema_migrations`;
      for (let i = row?.version ?? 0; i < MIGRATIONS.length; i++) {
        await tx.unsafe(MIGRATIONS[i]!);
        await tx`INSERT INTO schema_migrations (version) VALUES (${i + 1})`;
      }
      await useSearchLanguage(tx, searchLanguage);
    },
    MIGRATION_TIMEOUT_MS,
  );
}
