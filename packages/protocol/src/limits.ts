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
