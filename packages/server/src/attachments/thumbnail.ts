import sharp from 'sharp';
import { rgbaToThumbHash } from 'thumbhash';

/** ThumbHash takes at most 100x100 pixels. */
const THUMB_MAX = 100;
/** Larger images get no placeholder: decoding them would cost too much memory on a request. */
const MAX_PIXELS = 40_000_000;
/** The types sharp (libvips) decodes here; an animated GIF or WebP gives its first frame. */
const DECODED = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/**
 * A ThumbHash of a PNG, JPEG, GIF or WebP image (about 25 bytes, base64): a blurred placeholder with
 * the image's colours a client paints before the image loads. libvips (through sharp) decodes and
 * shrinks it, refusing images over MAX_PIXELS before decoding them. Undefined for other types, and
 * for images that are too large or fail to decode (the placeholder is a nicety, never a reason to
 * refuse a file).
 */
export async function thumbHashOf(
  bytes: Uint8Array,
  type: string,
  width: number,
  height: number,
): Promise<string | undefined> {
  if (!DECODED.has(type) || width * height > MAX_PIXELS) return undefined;
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: MAX_PIXELS, failOn: 'error' })
      .resize(THUMB_MAX, THUMB_MAX, { fit: 'inside', withoutEnlargement: true })
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    return Buffer.from(rgbaToThumbHash(info.width, info.height, data)).toString('base64');
  } catch {
    return undefined;
  }
}
