import { useEffect, useMemo, useRef, useState } from 'react';
import { Icon } from './icons.js';
import { Popover } from './popover.js';

/** The picker's data, a hashed asset written by packages/web/build.mjs (emoji-data.mjs). */
declare const EMOJI_DATA_URL: string;

/** One emoji: itself, its CLDR name, its keywords, and its five skin tones if it takes one. */
type EmojiRow = [emoji: string, name: string, keywords: string, tones?: string[]];
interface EmojiData {
  groups: { name: string; emoji: EmojiRow[] }[];
}

const RECENT_KEY = 'natter.emoji.recent';
const TONE_KEY = 'natter.emoji.tone';
const RECENT_MAX = 24;
const SEARCH_MAX = 120;
const TONES = ['✋', '✋🏻', '✋🏼', '✋🏽', '✋🏾', '✋🏿'];

let loading: Promise<EmojiData> | null = null;

/** Fetched once, the first time a picker opens (about 33 KB compressed); a failure is tried again next time. */
function loadEmojiData(): Promise<EmojiData> {
  loading ??= fetch(EMOJI_DATA_URL)
    .then((response) => {
      if (!response.ok) throw new Error(`emoji data: HTTP ${response.status}`);
      return response.json() as Promise<EmojiData>;
    })
    .catch((error: unknown) => {
      loading = null;
      throw error;
    });
  return loading;
}

function storedRecent(): string[] {
  try {
    const value: unknown = JSON.parse(localStorage.getItem(RECENT_KEY) ?? '[]');
    return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * The composer's emoji button: a panel with search (by name and keyword), categories, recently used
 * and a skin tone, kept in this browser. It stays open to pick several; each pick goes in at the
 * caret. Escape or a press outside closes it and the focus returns to the message field.
 */
export function EmojiButton({ onPick, onClosed }: { onPick: (emoji: string) => void; onClosed: () => void }) {
  const button = useRef<HTMLButtonElement>(null);
  const [open, setOpen] = useState(false);
  const wasOpen = useRef(false);
  useEffect(() => {
    if (wasOpen.current && !open) onClosed();
    wasOpen.current = open;
  }, [open, onClosed]);
  return (
    <>
      <button
        ref={button}
        type="button"
        className="icon-button composer-emoji"
        aria-label="Emoji"
        aria-haspopup="dialog"
        aria-expanded={open}
        onClick={() => setOpen((was) => !was)}
      >
        <Icon name="smile" />
      </button>
      {open && (
        <Popover
          anchor={button.current}
          label="Emoji"
          className="emoji-picker"
          align="start"
          onClose={() => setOpen(false)}
        >
          <EmojiPanel onPick={onPick} />
        </Popover>
      )}
    </>
  );
}

function EmojiPanel({ onPick }: { onPick: (emoji: string) => void }) {
  const [data, setData] = useState<EmojiData | null>(null);
  const [failed, setFailed] = useState(false);
  const [query, setQuery] = useState('');
  const [recent, setRecent] = useState(storedRecent);
  const [tone, setTone] = useState(() => Number(localStorage.getItem(TONE_KEY) ?? 0) || 0);
  const [group, setGroup] = useState(recent.length > 0 ? -1 : 0);

  useEffect(() => {
    let current = true;
    loadEmojiData().then(
      (loaded) => current && setData(loaded),
      () => current && setFailed(true),
    );
    return () => {
      current = false;
    };
  }, []);

  const shown = useMemo(() => {
    if (!data) return [];
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    if (words.length > 0) {
      return data.groups
        .flatMap((each) => each.emoji)
        .filter(([, name, keywords]) => words.every((word) => `${name} ${keywords}`.includes(word)))
        .slice(0, SEARCH_MAX);
    }
    if (group === -1) return recent.map((emoji): EmojiRow => [emoji, emoji, '']);
    return data.groups[group]?.emoji ?? [];
  }, [data, query, group, recent]);

  function pick(row: EmojiRow): void {
    const emoji = (tone > 0 && row[3]?.[tone - 1]) || row[0];
    onPick(emoji);
    const next = [emoji, ...recent.filter((item) => item !== emoji)].slice(0, RECENT_MAX);
    setRecent(next);
    localStorage.setItem(RECENT_KEY, JSON.stringify(next));
  }

  return (
    <div className="emoji-panel">
      <div className="emoji-search-row">
        <input
          type="search"
          aria-label="Search emoji"
          placeholder="Search emoji"
          value={query}
          onChange={(event) => setQuery(event.target.value)}
        />
        <select
          aria-label="Skin tone"
          value={tone}
          onChange={(event) => {
            setTone(Number(event.target.value));
            localStorage.setItem(TONE_KEY, event.target.value);
          }}
        >
          {TONES.map((hand, index) => (
            <option key={hand} value={index}>
              {hand}
            </option>
          ))}
        </select>
      </div>
      {data && !query && (
        <div className="emoji-groups">
          {recent.length > 0 && (
            <button
              type="button"
              aria-label="Recently used"
              aria-pressed={group === -1}
              onClick={() => setGroup(-1)}
            >
              🕘
            </button>
          )}
          {data.groups.map((each, index) => (
            <button
              key={each.name}
              type="button"
              aria-label={each.name}
              title={each.name}
              aria-pressed={group === index}
              onClick={() => setGroup(index)}
            >
              {each.emoji[0]?.[0]}
            </button>
          ))}
        </div>
      )}
      {failed && <p className="emoji-note">The emoji could not be loaded. Close and try again.</p>}
      {!data && !failed && <p className="emoji-note">Loading…</p>}
      {data && shown.length === 0 && <p className="emoji-note">No emoji found.</p>}
      <div className="emoji-choices">
        {shown.map((row) => (
          <button key={row[0]} type="button" aria-label={row[1]} title={row[1]} onClick={() => pick(row)}>
            {(tone > 0 && row[3]?.[tone - 1]) || row[0]}
          </button>
        ))}
      </div>
    </div>
  );
}
