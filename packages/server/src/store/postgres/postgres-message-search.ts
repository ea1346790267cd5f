import { NatterError } from '@natter/protocol';
import postgres from 'postgres';
import {
  type MessageSearch,
  SEARCH_WINDOW,
  type SearchPage,
  type SearchQuery,
  type SearchTerm,
} from '../message-search.js';
import type { Queryable, Tx } from './postgres-connection.js';
import type { Guarded } from './postgres-health.js';
import type { PostgresPool } from './postgres-pool.js';

interface MatchRow {
  conversation_id: string;
  seq: string;
  sender_id: string;
  created_at: string;
  thread_root: string | null;
  body: string;
}

/**
 * Search over `message_search` (migration 4), in one read-only snapshot bounded by
 * `statement_timeout`. The plan restricts to the caller's visible conversations first, then per
 * conversation takes the newest SEARCH_WINDOW matches walking (conversation_id, seq) backwards, so
 * the planner can pick that walk for a common word (stopping early) or the GIN index for a rare
 * one; of those the newest SEARCH_WINDOW overall (by log position) are ranked with ts_rank. Plans
 * are made for the actual words (force_custom_plan), since their frequency decides the plan.
 */
export class PostgresMessageSearch implements MessageSearch {
  constructor(
    private readonly pool: PostgresPool,
    private readonly guard: Guarded,
    private readonly language: string,
  ) {}

  async search(query: SearchQuery): Promise<SearchPage> {
    if (query.terms.length === 0) return { matches: [], hasMore: false };
    const rows = await this.guard(() =>
      this.pool.transaction('ISOLATION LEVEL REPEATABLE READ READ ONLY', (tx) => this.run(tx, query)),
    );
    return {
      matches: rows.slice(0, query.limit).map((r) => ({
        conversationId: r.conversation_id,
        seq: Number(r.seq),
        senderId: r.sender_id,
        sentAt: Number(r.created_at),
        body: r.body,
        threadRoot: r.thread_root === null ? null : Number(r.thread_root),
      })),
      hasMore: rows.length > query.limit,
    };
  }

  private async run(tx: Tx, query: SearchQuery): Promise<MatchRow[]> {
    await tx.unsafe(
      `SET LOCAL statement_timeout = ${Math.max(1, Math.floor(query.timeoutMs))}; SET LOCAL plan_cache_mode = force_custom_plan`,
    );
    const tsquery = tx`to_tsquery(${this.language}::regconfig, ${tsqueryOf(query.terms)})`;
    const onlyConversation =
      query.conversationId === undefined ? tx`` : tx`AND m.conversation_id = ${query.conversationId}`;
    const bySender = query.senderId === undefined ? tx`` : tx`AND d.sender_id = ${query.senderId}`;
    const after = query.after === undefined ? tx`` : tx`AND d.created_at >= ${query.after}`;
    const before = query.before === undefined ? tx`` : tx`AND d.created_at < ${query.before}`;
    try {
      return await tx<MatchRow[]>`
        SELECT conversation_id, seq, sender_id, created_at, thread_root, body
        FROM (
          SELECT w.*, ts_rank(w.tsv, ${tsquery}) AS score FROM (
            SELECT h.* FROM (
              SELECT m.conversation_id, m.joined_seq AS lo, coalesce(m.left_seq, c.last_seq) AS hi
              FROM members m JOIN conversations c ON c.id = m.conversation_id
              WHERE m.user_id = ${query.userId} ${onlyConversation}
            ) v
            CROSS JOIN LATERAL (
              SELECT d.conversation_id, d.seq, d.pos, d.sender_id, d.created_at, d.thread_root, d.body, d.tsv
              FROM message_search d
              WHERE d.conversation_id = v.conversation_id AND d.seq BETWEEN v.lo AND v.hi
                AND d.changed_seq <= v.hi AND d.tsv @@ ${tsquery} ${bySender} ${after} ${before}
              ORDER BY d.seq DESC LIMIT ${SEARCH_WINDOW}
            ) h
            ORDER BY h.pos DESC LIMIT ${SEARCH_WINDOW}
          ) w
        ) r
        ORDER BY score DESC, pos DESC LIMIT ${query.limit + 1} OFFSET ${query.offset}`;
    } catch (error) {
      if (error instanceof postgres.PostgresError && error.code === '57014') {
        throw new NatterError('search_timeout', undefined, { cause: error });
      }
      throw error;
    }
  }
}

/** Words joined with `&`, a prefix as `word:*`: the words hold letters and digits only, no syntax. */
export function tsqueryOf(terms: SearchTerm[]): string {
  return terms.map((t) => `'${t.word.replaceAll("'", "''")}'${t.prefix ? ':*' : ''}`).join(' & ');
}

/**
 * Makes `language` (a text search configuration of pg_ts_config) the one the index uses: when it
 * changes, every stored text is indexed again, in one transaction (this can take minutes on a
 * large log; nodes starting meanwhile wait for it).
 */
export async function useSearchLanguage(sql: Queryable, language: string): Promise<void> {
  const [found] = await sql<
    { n: number }[]
  >`SELECT count(*)::int AS n FROM pg_ts_config WHERE cfgname = ${language}`;
  if (!found || found.n === 0) {
    throw new Error(`NATTER_SEARCH_LANGUAGE: PostgreSQL has no text search configuration "${language}".`);
  }
  const [current] = await sql<{ language: string }[]>`SELECT language::text AS language FROM search_config`;
  if (current?.language === language) return;
  await sql`UPDATE search_config SET language = ${language}::regconfig`;
  await sql`UPDATE message_search SET tsv = to_tsvector(${language}::regconfig, body)`;
}
