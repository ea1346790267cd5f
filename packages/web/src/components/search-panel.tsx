import type { SearchFilters } from '@natter/client';
import { NatterError, type SearchHit } from '@natter/protocol/core';
import { useEffect, useState } from 'react';
import type { ChatSession } from '../chat-session.js';
import { formatListTime } from '../format.js';
import { snippetParts } from '../search-highlight.js';
import { useNow } from '../use-session.js';
import { Avatar } from './avatar.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const PERIODS = { any: 0, week: 7, month: 30, year: 365 } as const;
type Period = keyof typeof PERIODS;
const WAIT_MS = 250;

interface Props {
  session: ChatSession;
  query: string;
  /** The open conversation, which "This conversation" narrows to. */
  openId: string | null;
  onOpen: (hit: SearchHit) => void;
}

interface Found {
  hits: SearchHit[];
  next: string | null;
  /** What the first page asked, so "Load more" continues the same search. */
  filters: SearchFilters;
}

/**
 * Search results in place of the conversation list: filters (where, from whom, when), snippets
 * with the matched words marked, and "Load more". A click opens the message in its conversation
 * (or its thread). The query runs a moment after the typing stops.
 */
export function SearchPanel({ session, query, openId, onOpen }: Props) {
  const now = useNow();
  const [scope, setScope] = useState<'all' | 'here'>('all');
  const [sender, setSender] = useState('');
  const [period, setPeriod] = useState<Period>('any');
  const [found, setFound] = useState<Found | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const conversationId = scope === 'here' && openId ? openId : undefined;
  const me = session.account.userId;

  useEffect(() => {
    let current = true;
    const filters: SearchFilters = {
      ...(conversationId ? { conversationId } : {}),
      ...(sender ? { senderId: sender } : {}),
      ...(period === 'any' ? {} : { after: Date.now() - PERIODS[period] * DAY_MS }),
    };
    setLoading(true);
    const timer = setTimeout(() => {
      session.client.search(query, filters).then(
        (page) => {
          if (!current) return;
          setFound({ hits: page.results, next: page.next_cursor, filters });
          setProblem(null);
          setLoading(false);
        },
        (thrown: unknown) => {
          if (!current) return;
          setProblem(problemText(thrown));
          setLoading(false);
        },
      );
    }, WAIT_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [session, query, conversationId, sender, period]);

  async function loadMore() {
    if (!found?.next) return;
    setLoading(true);
    try {
      const page = await session.client.search(query, { ...found.filters, cursor: found.next });
      setFound({ ...found, hits: [...found.hits, ...page.results], next: page.next_cursor });
    } catch (thrown) {
      setProblem(problemText(thrown));
    } finally {
      setLoading(false);
    }
  }

  const senders = [
    ...new Set([me, ...(found?.hits.map((h) => h.sender_id) ?? []), ...(sender ? [sender] : [])]),
  ];
  return (
    <section className="search-panel" aria-label="Search results">
      <div className="search-filters">
        <select
          aria-label="Where"
          value={conversationId ? 'here' : 'all'}
          onChange={(event) => setScope(event.currentTarget.value === 'here' ? 'here' : 'all')}
        >
          <option value="all">All chats</option>
          {openId && <option value="here">This chat</option>}
        </select>
        <select aria-label="From" value={sender} onChange={(event) => setSender(event.currentTarget.value)}>
          <option value="">Anyone</option>
          {senders.map((id) => (
            <option key={id} value={id}>
              {id === me ? 'Me' : session.profiles.nameOf(id)}
            </option>
          ))}
        </select>
        <select
          aria-label="When"
          value={period}
          onChange={(event) => setPeriod(event.currentTarget.value as Period)}
        >
          <option value="any">Any time</option>
          <option value="week">Past week</option>
          <option value="month">Past 30 days</option>
          <option value="year">Past year</option>
        </select>
      </div>
      {problem && (
        <p className="search-note" role="alert">
          {problem}
        </p>
      )}
      {found && found.hits.length === 0 && !loading && !problem && (
        <p className="search-note">No messages match “{query}”.</p>
      )}
      <ul className="search-results">
        {found?.hits.map((hit) => {
          const summary = session.state.conversation(hit.conversation_id);
          const where = summary ? session.titleOf(summary) : 'Conversation';
          const who = hit.sender_id === me ? 'You' : session.profiles.nameOf(hit.sender_id);
          return (
            <li key={`${hit.conversation_id}:${hit.seq}`}>
              <button
                type="button"
                className="search-hit"
                data-seq={hit.seq}
                data-conversation={hit.conversation_id}
                onClick={() => onOpen(hit)}
              >
                <Avatar name={session.profiles.nameOf(hit.sender_id)} />
                <span className="search-hit-text">
                  <span className="search-hit-top">
                    <span className="search-hit-who">{who}</span>
                    <span className="search-hit-where">
                      {hit.thread_root === undefined ? `in ${where}` : `in a thread in ${where}`}
                    </span>
                    <time className="search-hit-time">{formatListTime(hit.sent_at, now)}</time>
                  </span>
                  <span className="search-snippet">
                    {snippetParts(hit.snippet, hit.highlights).map((part, i) =>
                      // biome-ignore lint/suspicious/noArrayIndexKey: runs of one fixed snippet
                      part.matched ? <mark key={i}>{part.text}</mark> : <span key={i}>{part.text}</span>,
                    )}
                  </span>
                </span>
              </button>
            </li>
          );
        })}
      </ul>
      {found?.next && (
        <button
          type="button"
          className="ghost search-more"
          disabled={loading}
          onClick={() => void loadMore()}
        >
          {loading ? 'Loading…' : 'Load more'}
        </button>
      )}
      {loading && !found && <p className="search-note">Searching…</p>}
    </section>
  );
}

function problemText(thrown: unknown): string {
  const code = thrown instanceof NatterError ? thrown.code : 'unavailable';
  switch (code) {
    case 'rate_limited':
      return 'Searching too fast: wait a moment.';
    case 'search_timeout':
      return 'That search took too long: add a word or narrow it down.';
    case 'bad_request':
      return 'Use at most 16 words.';
    default:
      return 'Search is unavailable right now.';
  }
}
