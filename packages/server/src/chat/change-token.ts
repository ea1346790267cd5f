import { NatterError } from '@natter/protocol';

/**
 * Change tokens are opaque to clients. `v1.<position>` resumes incrementally; `v1l.<position>`
 * continues a listing (a sync that started without a token): it pages conversations, not events.
 */
export interface ChangeToken {
  position: number;
  listing: boolean;
}

export function encodeToken(token: ChangeToken): string {
  return `${token.listing ? 'v1l' : 'v1'}.${token.position}`;
}

export function decodeToken(text: string): ChangeToken {
  const match = /^(v1|v1l)\.(\d{1,15})$/.exec(text);
  if (!match)
    throw new NatterError('bad_request', 'Unrecognised sync token; sync without one to start over.');
  return { listing: match[1] === 'v1l', position: Number(match[2]) };
}
