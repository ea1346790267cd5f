import { createHash } from 'node:crypto';
import { MAX_AVATAR_BYTES, NatterError } from '@natter/protocol';
import type { AvatarRecord } from '../store/account-store.js';

/** Image types an avatar may be, by the magic bytes that open the file. */
const SIGNATURES: Array<{ type: string; matches: (b: Uint8Array) => boolean }> = [
  { type: 'image/png', matches: (b) => startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) },
  { type: 'image/jpeg', matches: (b) => startsWith(b, [0xff, 0xd8, 0xff]) },
  { type: 'image/gif', matches: (b) => startsWith(b, [0x47, 0x49, 0x46, 0x38]) },
  {
    type: 'image/webp',
    matches: (b) =>
      startsWith(b, [0x52, 0x49, 0x46, 0x46]) && startsWith(b.subarray(8), [0x57, 0x45, 0x42, 0x50]),
  },
];

/**
 * An uploaded avatar as it will be stored: its type sniffed from its first bytes (whatever the
 * request's Content-Type claimed), its tag a hash of its bytes. Refuses anything too large or
 * not a PNG, JPEG, GIF or WebP image with `bad_request`.
 */
export function avatarFrom(bytes: Uint8Array): AvatarRecord {
  if (bytes.byteLength > MAX_AVATAR_BYTES)
    throw new NatterError('bad_request', `The avatar is larger than ${MAX_AVATAR_BYTES / 1024} KB.`);
  const type = SIGNATURES.find((s) => s.matches(bytes))?.type;
  if (!type) throw new NatterError('bad_request', 'The avatar must be a PNG, JPEG, GIF or WebP image.');
  const tag = createHash('sha256').update(bytes).digest('base64url').slice(0, 16);
  return { contentType: type, bytes, tag };
}

function startsWith(bytes: Uint8Array, prefix: number[]): boolean {
  return bytes.byteLength >= prefix.length && prefix.every((byte, i) => bytes[i] === byte);
}
