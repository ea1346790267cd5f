/** Limits of client frames that the server enforces and a client can respect up front. */

/** Most UTF-8 bytes a message's `metadata` may take, serialized as JSON. */
export const MAX_METADATA_BYTES = 2048;

/** Most users (and `@all` / `@here`) one message may mention. */
export const MAX_MENTIONS = 50;
/** Most messages a conversation may have pinned at once. */
export const MAX_PINS = 50;
/** Most different emoji one message may carry as reactions. */
export const MAX_REACTION_EMOJI = 50;

/** Most `held` entries one `sync` may carry. */
export const MAX_HELD = 500;

/** Fewest characters (after trimming) a user search query needs: shorter ones would list the directory. */
export const MIN_USER_SEARCH_CHARS = 2;
/** Longest user search query, in characters after trimming. */
export const MAX_USER_SEARCH_CHARS = 64;
/** Most users one search answers (there is no next page: type more to narrow it). */
export const MAX_USER_SEARCH_RESULTS = 20;

/** Largest avatar image the server stores, in bytes (the web app sends a 128×128 WebP or JPEG). */
export const MAX_AVATAR_BYTES = 64 * 1024;

/** The server's default `max_body_bytes` (`NATTER_MAX_BODY_BYTES`); `ready.limits` tells the one in force. */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024;

/**
 * A message body's size as the server measures it against `max_body_bytes`: its UTF-8 bytes (1 for
 * ASCII, 2 for most accented and Cyrillic letters, 3 for most other scripts, 4 for an emoji's code
 * point), counted without encoding it. Clients use it to count as the server does.
 */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else bytes += 3; // the rest of the BMP; a lone surrogate is encoded as U+FFFD, 3 bytes too
  }
  return bytes;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

/** Most attachments one message may carry. */
export const MAX_ATTACHMENTS = 10;
