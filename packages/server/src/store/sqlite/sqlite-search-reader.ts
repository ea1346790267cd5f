import type Database from 'better-sqlite3';
import { SEARCH_WINDOW, type SearchPage, type SearchQuery, type SearchTerm } from '../message-search.js';

/**
 * The newest FTS5 matches a search looks at before checking who may see them: the bound on the
 * cost of a very common word (FTS5 walks its doclist newest first and stops here). Found by
 * bench/search.mjs: ~20k matches keep a common word's p95 under ~100 ms on 1M messages.
 */
export const SQLITE_SCAN_LIMIT = 20_000;

interface MatchRow {
  conversation_id: string;
  seq: number;
  sender_id: string;
  created_at: number;
  thread_root: number | null;
  body: string;
}

/**
 * Search over the FTS5 index that the triggers of migration 4 keep (see sqlite-database.ts), run
 * synchronously on the search thread's read-only connection (sqlite-search-worker.ts). SQLite
 * cannot interrupt a statement from here, so the bound on its cost is the scan itself
 * (SQLITE_SCAN_LIMIT matches, then SEARCH_WINDOW visible ones ranked by bm25); the caller's timeout
 * is kept by SqliteMessageSearch on the main thread.
 */
export class SqliteSearchReader {
  private readonly snapshot: (query: SearchQuery) => SearchPage;

  constructor(db: Database.Database) {
    const statements = new Map<string, Database.Statement<Record<string, unknown>, MatchRow>>();
    const statementFor = (query: SearchQuery) => {
      const sql = searchSql(query);
      let statement = statements.get(sql);
      if (!statement) {
        statement = db.prepare<Record<string, unknown>, MatchRow>(sql);
        statements.set(sql, statement);
      }
      return statement;
    };
    this.snapshot = db.transaction((query: SearchQuery): SearchPage => {
      const rows = statementFor(query).all({
        user: query.userId,
        match: ftsMatchOf(query.terms),
        conversation: query.conversationId ?? null,
        sender: query.senderId ?? null,
        after: query.after ?? null,
        before: query.before ?? null,
        scan: SQLITE_SCAN_LIMIT,
        window: SEARCH_WINDOW,
        offset: query.offset,
        limit: query.limit + 1,
      });
      return {
        matches: rows.slice(0, query.limit).map((r) => ({
          conversationId: r.conversation_id,
          seq: r.seq,
          senderId: r.sender_id,
          sentAt: r.created_at,
          body: r.body,
          threadRoot: r.thread_root,
        })),
        hasMore: rows.length > query.limit,
      };
    });
  }

  /** One page, read in one snapshot. `query.terms` is not empty (an empty MATCH is an error). */
  search(query: SearchQuery): SearchPage {
    return this.snapshot(query);
  }
}

/** Each term as an FTS5 string (quotes doubled), so nothing in it is read as query syntax. */
export function ftsMatchOf(terms: SearchTerm[]): string {
  return terms.map((t) => `"${t.word.replaceAll('"', '""')}"${t.prefix ? '*' : ''}`).join(' ');
}

/** Only the filters a query uses, so each shape gets its own plan. */
function searchSql(query: SearchQuery): string {
  const filters = [
    query.conversationId === undefined ? '' : 'AND m.conversation_id = @conversation',
    query.senderId === undefined ? '' : 'AND d.sender_id = @sender',
    query.after === undefined ? '' : 'AND d.created_at >= @after',
    query.before === undefined ? '' : 'AND d.created_at < @before',
  ].join(' ');
  // CROSS JOIN fixes the join order: from the FTS matches (newest first) to their rows and the
  // user's membership by primary key. Left to itself the planner started from the user's
  // conversations and read every indexed message in them (80 ms for a rare word on 1M messages).
  return `
    WITH scanned AS (
      SELECT rowid AS id, bm25(search_fts) AS score FROM search_fts WHERE search_fts MATCH @match
      ORDER BY rowid DESC LIMIT @scan
    ),
    ranked AS (
      SELECT d.*, s.score FROM scanned s
      CROSS JOIN search_docs d ON d.id = s.id
      CROSS JOIN members m ON m.conversation_id = d.conversation_id AND m.user_id = @user
      CROSS JOIN conversations c ON c.id = m.conversation_id
      WHERE d.seq >= m.joined_seq AND d.seq <= coalesce(m.left_seq, c.last_seq)
        AND d.changed_seq <= coalesce(m.left_seq, c.last_seq) ${filters}
      ORDER BY d.id DESC LIMIT @window
    )
    SELECT conversation_id, seq, sender_id, created_at, thread_root, body FROM ranked
    ORDER BY score, id DESC LIMIT @limit OFFSET @offset`;
}
