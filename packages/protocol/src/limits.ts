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
