import { NatterError } from '@natter/protocol';

/**
 * Change tokens are opaque to clients:
 * - `v1.<position>`: resume with everything after position.
 * - `v1.<position>.<after>`: the next page of such a resume: conversations that changed after
 *   `after`, with their events after `position` (the token the resume started from).
 * - `v1l.<after>`: the next page of a listing (a sync that started without a token): summaries only.
 */
export interface ChangeToken {
  /** Events after this position are returned. */
  position: number;
  /** Conversations whose view changed after this position are listed (the page cursor). */
  after: number;
  listing: boolean;
}

export function encodeToken(token: ChangeToken): string {
  if (token.listing) return `v1l.${token.after}`;
  return token.after === token.position ? `v1.${token.position}` : `v1.${token.position}.${token.after}`;
}

export function decodeToken(text: string): ChangeToken {
  const listing = /^v1l\.(\d{1,15})$/.exec(text);
  if (listing) return { listing: true, position: 0, after: Number(listing[1]) };
  const resume = /^v1\.(\d{1,15})(?:\.(\d{1,15}))?$/.exec(text);
  if (!resume)
    throw new NatterError('bad_request', 'Unrecognised sync token; sync without one to start over.');
  const position = Number(resume[1]);
  return { listing: false, position, after: resume[2] === undefined ? position : Number(resume[2]) };
}
