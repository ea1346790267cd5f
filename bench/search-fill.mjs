// Fills a store with the search corpus by bulk inserts into the store's own schema (migrated by
// the server's own code), instead of a million sends: rows exactly as the writer would store them.
// SQLite: the migration-4 triggers index each message as it is inserted. PostgreSQL: the index
// trigger is off during the fill, then message_search is filled in one INSERT ... SELECT (the
// same statement as migration 4's backfill) and the trigger turned back on.
import postgres from 'postgres';
import { conversationId, memberships, messageBatches, vocabulary } from './search-corpus.mjs';
import { ROOT } from './targets.mjs';

const BATCH = 5_000;

/** @param {import('./search-corpus.mjs').CorpusShape} shape */
function corpus(shape) {
  const words = vocabulary(shape.vocabulary);
  const members = memberships(shape);
  const created = Date.UTC(2026, 0, 1);
  const lastSeq = shape.messagesPerConversation + 1;
  const lastPos = shape.conversations * (shape.messagesPerConversation + 1);
  const conversations = members.map((who, c) => ({
    id: conversationId(c),
    kind: 'group',
    title: `Bench ${c}`,
    last_seq: lastSeq,
    change_pos: lastPos - shape.conversations + c + 1,
    member_count: who.length,
    created_at: created,
    updated_at: created + lastPos * 1000,
  }));
  const memberRows = members.flatMap((who, c) =>
    who.map((user, i) => ({
      conversation_id: conversationId(c),
      user_id: user,
      role: i === 0 ? 'owner' : 'member',
      joined_seq: 1,
      delivered_seq: lastSeq,
      read_seq: lastSeq,
    })),
  );
  const createdEvents = members.map((who, c) => ({
    conversation_id: conversationId(c),
    seq: 1,
    pos: c + 1,
    kind: 'created',
    sender_id: who[0],
    data: JSON.stringify({ title: `Bench ${c}`, member_ids: who }),
    created_at: created,
  }));
  return { words, members, conversations, memberRows, createdEvents, lastPos };
}

/** @param {string} dataDir @param {import('./search-corpus.mjs').CorpusShape} shape */
export async function fillSqlite(dataDir, shape) {
  const { openSqlite } = await import(`${ROOT}/packages/server/dist/store/sqlite/sqlite-database.js`);
  const db = openSqlite(dataDir);
  db.pragma('synchronous = OFF');
  const c = corpus(shape);
  const insertConversation = db.prepare(
    `INSERT INTO conversations (id, kind, title, last_seq, change_pos, member_count, created_at, updated_at)
     VALUES (@id, @kind, @title, @last_seq, @change_pos, @member_count, @created_at, @updated_at)`,
  );
  const insertMember = db.prepare(
    `INSERT INTO members (conversation_id, user_id, role, joined_seq, delivered_seq, read_seq)
     VALUES (@conversation_id, @user_id, @role, @joined_seq, @delivered_seq, @read_seq)`,
  );
  const insertEvent = db.prepare(
    `INSERT INTO events (conversation_id, seq, pos, kind, sender_id, body, data, created_at)
     VALUES (@conversation_id, @seq, @pos, @kind, @sender_id, @body, @data, @created_at)`,
  );
  db.transaction(() => {
    for (const row of c.conversations) insertConversation.run(row);
    for (const row of c.memberRows) insertMember.run(row);
    for (const row of c.createdEvents) insertEvent.run({ ...row, body: null });
  })();
  const insertBatch = db.transaction((/** @type {any[]} */ batch) => {
    for (const m of batch) {
      insertEvent.run({
        conversation_id: conversationId(m.c),
        seq: m.seq,
        pos: m.pos,
        kind: 'message',
        sender_id: m.sender,
        body: m.body,
        data: null,
        created_at: m.at,
      });
    }
  });
  for (const batch of messageBatches(shape, c.words, c.members, BATCH)) insertBatch(batch);
  db.prepare(`UPDATE meta SET value = ? WHERE key = 'position'`).run(c.lastPos);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return c.words;
}

/** @param {string} url a migrated database @param {import('./search-corpus.mjs').CorpusShape} shape */
export async function fillPostgres(url, shape) {
  const sql = postgres(url, { max: 4, onnotice: () => {} });
  const c = corpus(shape);
  try {
    await sql`ALTER TABLE events DISABLE TRIGGER events_search`;
    await sql`INSERT INTO conversations ${sql(c.conversations)}`;
    for (let i = 0; i < c.memberRows.length; i += BATCH) {
      await sql`INSERT INTO members ${sql(c.memberRows.slice(i, i + BATCH))}`;
    }
    const views = c.memberRows.map((m) => ({
      user_id: m.user_id,
      conversation_id: m.conversation_id,
      view_pos: c.lastPos,
    }));
    for (let i = 0; i < views.length; i += BATCH) {
      await sql`INSERT INTO user_conversations ${sql(views.slice(i, i + BATCH))}`;
    }
    await sql`INSERT INTO events ${sql(c.createdEvents.map((e) => ({ ...e, data: JSON.parse(e.data) })))}`;
    for (const batch of messageBatches(shape, c.words, c.members, BATCH)) {
      const rows = batch.map((m) => ({
        conversation_id: conversationId(m.c),
        seq: m.seq,
        pos: m.pos,
        kind: 'message',
        sender_id: m.sender,
        body: m.body,
        created_at: m.at,
      }));
      await sql`INSERT INTO events ${sql(rows)}`;
    }
    await sql`
      INSERT INTO message_search
      SELECT m.conversation_id, m.seq, m.pos, m.sender_id, m.created_at, m.thread_root, m.seq, m.body,
        natter_search_vector((SELECT language FROM search_config), m.conversation_id, m.body)
      FROM events m WHERE m.kind = 'message' AND NOT m.deleted AND coalesce(m.body, '') <> ''`;
    await sql`ALTER TABLE events ENABLE TRIGGER events_search`;
    await sql`UPDATE change_clock SET position = ${c.lastPos}`;
    await sql`VACUUM ANALYZE`.catch(() => sql`ANALYZE`);
  } finally {
    await sql.end();
  }
  return c.words;
}
