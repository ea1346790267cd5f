// The composer's emoji picker data, cut from emojibase's English data (the Unicode CLDR names and
// keywords) to what the picker shows: one JSON file, fetched the first time the picker opens.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Emoji 14 (2021) and older: what current systems draw; newer ones would show as empty boxes on many. */
const NEWEST_VERSION = 14;
/** emojibase's group numbers in its order; group 2 (skin-tone and hair components) is not pickable. */
const GROUPS = [
  [0, 'Smileys & emotion'],
  [1, 'People & body'],
  [3, 'Animals & nature'],
  [4, 'Food & drink'],
  [5, 'Travel & places'],
  [6, 'Activities'],
  [7, 'Objects'],
  [8, 'Symbols'],
  [9, 'Flags'],
];

/**
 * emojibase writes every emoji with a trailing VS16 (U+FE0F); on one that is shown as an emoji by
 * default (Emoji_Presentation) it is noise, and the RGI form (what people type and the server's
 * reaction check expects) has none.
 */
function rgi(emoji) {
  const [first, ...rest] = [...emoji];
  return rest.length === 1 && rest[0] === '\uFE0F' && /\p{Emoji_Presentation}/u.test(first) ? first : emoji;
}

/**
 * `{ groups: [{ name, emoji: [[emoji, name, keywords, skins?]] }] }`: `skins` is the five tones
 * (light to dark) of an emoji that takes a single one.
 */
export function emojiPickerData() {
  const all = require('emojibase-data/en/data.json');
  const shown = all
    .filter((entry) => entry.version <= NEWEST_VERSION && entry.group !== undefined)
    .sort((a, b) => a.order - b.order);
  return {
    groups: GROUPS.map(([group, name]) => ({
      name,
      emoji: shown
        .filter((entry) => entry.group === group)
        .map((entry) => {
          const tones = (entry.skins ?? []).filter((skin) => typeof skin.tone === 'number');
          const row = [rgi(entry.emoji), entry.label, (entry.tags ?? []).join(' ')];
          return tones.length === 5
            ? [...row, tones.sort((a, b) => a.tone - b.tone).map((s) => rgi(s.emoji))]
            : row;
        }),
    })),
  };
}
