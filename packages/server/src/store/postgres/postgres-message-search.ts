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

interface Span {
  conversation_id: string;
  lo: string;
  hi: string;
}

/**
 * Above this many expected matches store-wide (the statistics of the rarest word), a search walks
 * the caller's conversations newest first instead of reading the word's GIN entries: on 1M
 * messages the GIN scan of a word in 70% of them took 450 ms, the walk 40 ms (bench/search.mjs).
 */
export const WALK_ABOVE_MATCHES = 100_000;
/**
 * A walk takes the newest WALK_WINDOW matches spread over the conversations (at least
 * WALK_MIN_PER_CONVERSATION from each): for a word in most messages, ranking more than the most
 * recent few hundred says little, and each row is a heap read.
 */
const WALK_WINDOW = 500;
const WALK_MIN_PER_CONVERSATION = 10;
/** Past this many conversations, the GIN scan is not narrowed by their lexemes (the query grows). */
const MAX_CONVERSATION_LEXEMES = 1_000;
/** How long the word statistics (pg_stats) are reused. */
const STATS_TTL_MS = 60_000;

/**
 * Search over `message_search` (migration 4), in one read-only snapshot bounded by
 * `statement_timeout`. First the caller's visible spans (user_conversations, members); then one of
 * two plans, picked from PostgreSQL's statistics of the query's rarest word:
 * - rare or medium words: the GIN index, with the words AND any of the caller's conversation
 *   lexemes (`§<id>`), so only their matching rows are read;
 * - very common words: per conversation, its share of the WALK_WINDOW newest matches walking the
 *   primary key backwards, which stops early because nearly every row matches.
 * The newest SEARCH_WINDOW candidates (by log position) within the spans are ranked (ts_rank).
 */
export class PostgresMessageSearch implements MessageSearch {
  private stats: { at: number; total: number; frequencies: Map<string, number> } | null = null;

  constructor(
    private readonly pool: PostgresPool,
    private readonly guard: Guarded,
    private readonly language: string,
    /** Expected matches above which the walk is taken (tests pass -1 to always walk). */
    private readonly walkAboveMatches = WALK_ABOVE_MATCHES,
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
    // Custom plans: a prepared statement's generic plan, made after a few runs, would not know
    // how common the words are, and with a GIN scan per conversation a common word took 20x longer.
    await tx.unsafe(
      `SET LOCAL statement_timeout = ${Math.max(1, Math.floor(query.timeoutMs))}; SET LOCAL plan_cache_mode = force_custom_plan`,
    );
    try {
      const spans = await tx<Span[]>`
        SELECT m.conversation_id, m.joined_seq AS lo, coalesce(m.left_seq, c.last_seq) AS hi
        FROM user_conversations uc
        JOIN members m ON m.conversation_id = uc.conversation_id AND m.user_id = uc.user_id
        JOIN conversations c ON c.id = uc.conversation_id
        WHERE uc.user_id = ${query.userId}
          ${query.conversationId === undefined ? tx`` : tx`AND uc.conversation_id = ${query.conversationId}`}`;
      if (spans.length === 0) return [];
      const walk = (await this.expectedMatches(tx, query.terms)) > this.walkAboveMatches;
      return await (walk ? this.walk(tx, query, spans) : this.lookUp(tx, query, spans));
    } catch (error) {
      if (error instanceof postgres.PostgresError && error.code === '57014') {
        throw new NatterError('search_timeout', undefined, { cause: error });
      }
      throw error;
    }
  }

  /** The GIN plan: the words and the caller's conversations narrow the index before any row is read. */
  private lookUp(tx: Tx, query: SearchQuery, spans: Span[]): Promise<MatchRow[]> {
    const words = tsqueryOf(query.terms);
    const narrowed =
      spans.length > MAX_CONVERSATION_LEXEMES
        ? tx`to_tsquery(${this.language}::regconfig, ${words})`
        : tx`(to_tsquery(${this.language}::regconfig, ${words}) && ${conversationsQueryOf(spans)}::tsquery)`;
    return this.ranked(
      tx,
      query,
      spans,
      tx`(SELECT d.* FROM message_search d WHERE d.tsv @@ ${narrowed} ${this.filters(tx, query)})`,
    );
  }

  /** The walk: each visible conversation's newest matches, by its primary key backwards. */
  private walk(tx: Tx, query: SearchQuery, spans: Span[]): Promise<MatchRow[]> {
    const words = tx`to_tsquery(${this.language}::regconfig, ${tsqueryOf(query.terms)})`;
    const perConversation = Math.max(WALK_MIN_PER_CONVERSATION, Math.ceil(WALK_WINDOW / spans.length));
    return this.ranked(
      tx,
      query,
      spans,
      tx`(SELECT h.* FROM ${spansTable(tx, spans)} CROSS JOIN LATERAL (
        SELECT d.* FROM message_search d
        WHERE d.conversation_id = v.conversation_id AND d.seq BETWEEN v.lo AND v.hi AND d.tsv @@ ${words}
          ${this.filters(tx, query)}
        ORDER BY d.seq DESC LIMIT ${perConversation}) h)`,
    );
  }

  /** Of the candidates, those within the spans; the newest SEARCH_WINDOW ranked, one page of them. */
  private ranked(
    tx: Tx,
    query: SearchQuery,
    spans: Span[],
    candidates: postgres.PendingQuery<postgres.Row[]>,
  ) {
    const words = tx`to_tsquery(${this.language}::regconfig, ${tsqueryOf(query.terms)})`;
    return tx<MatchRow[]>`
      WITH found AS MATERIALIZED ${candidates}
      SELECT conversation_id, seq, sender_id, created_at, thread_root, body FROM (
        SELECT f.*, ts_rank(f.tsv, ${words}) AS score FROM found f
        JOIN ${spansTable(tx, spans)} ON v.conversation_id = f.conversation_id
        WHERE f.seq BETWEEN v.lo AND v.hi AND f.changed_seq <= v.hi
        ORDER BY f.pos DESC LIMIT ${SEARCH_WINDOW}
      ) w
      ORDER BY score DESC, pos DESC LIMIT ${query.limit + 1} OFFSET ${query.offset}`;
  }

  private filters(tx: Tx, query: SearchQuery) {
    return tx`${query.senderId === undefined ? tx`` : tx`AND d.sender_id = ${query.senderId}`}
      ${query.after === undefined ? tx`` : tx`AND d.created_at >= ${query.after}`}
      ${query.before === undefined ? tx`` : tx`AND d.created_at < ${query.before}`}`;
  }

  /**
   * How many rows the rarest word matches, by the planner's statistics of the tsvector column
   * (most common lexemes and their frequencies; a word not among them is rare): 0 without stats.
   */
  private async expectedMatches(tx: Tx, terms: SearchTerm[]): Promise<number> {
    const now = Date.now();
    if (!this.stats || now - this.stats.at > STATS_TTL_MS) {
      const [row] = await tx<{ total: number; lexemes: string[] | null; frequencies: number[] | null }[]>`
        SELECT (SELECT reltuples FROM pg_class WHERE oid = 'message_search'::regclass)::float8 AS total,
          (SELECT most_common_elems::text::text[] FROM pg_stats WHERE schemaname = current_schema()
            AND tablename = 'message_search' AND attname = 'tsv') AS lexemes,
          (SELECT most_common_elem_freqs FROM pg_stats WHERE schemaname = current_schema()
            AND tablename = 'message_search' AND attname = 'tsv') AS frequencies`;
      const frequencies = new Map<string, number>();
      for (const [i, lexeme] of (row?.lexemes ?? []).entries()) {
        frequencies.set(lexeme, row?.frequencies?.[i] ?? 0);
      }
      this.stats = { at: now, total: Math.max(0, row?.total ?? 0), frequencies };
    }
    const lexemes = await tx<{ lexeme: string | null }[]>`
      SELECT (SELECT l.lexeme FROM unnest(to_tsvector(${this.language}::regconfig, t.word)) l LIMIT 1) AS lexeme
      FROM unnest(${terms.map((t) => t.word)}::text[]) WITH ORDINALITY AS t(word, i) ORDER BY t.i`;
    const { frequencies, total } = this.stats;
    let rarest = 1;
    terms.forEach((term, i) => {
      const lexeme = lexemes[i]?.lexeme;
      if (lexeme === null || lexeme === undefined) return; // a stop word: it does not narrow
      let frequency = frequencies.get(lexeme) ?? 0;
      if (term.prefix) {
        frequency = 0;
        for (const [other, f] of frequencies) if (other.startsWith(lexeme)) frequency += f;
      }
      rarest = Math.min(rarest, frequency);
    });
    return rarest * total;
  }
}

/** The spans as a relation `v(conversation_id, lo, hi)`. */
function spansTable(tx: Tx, spans: Span[]) {
  return tx`unnest(${spans.map((s) => s.conversation_id)}::text[], ${spans.map((s) => s.lo)}::bigint[],
    ${spans.map((s) => s.hi)}::bigint[]) AS v(conversation_id, lo, hi)`;
}

/** Any of the conversations' lexemes (see migration 4), as tsquery text. */
function conversationsQueryOf(spans: Span[]): string {
  return spans.map((s) => `'§${s.conversation_id.replaceAll("'", "''")}'`).join(' | ');
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
  await sql`UPDATE message_search SET tsv = natter_search_vector(${language}::regconfig, conversation_id, body)`;
}
