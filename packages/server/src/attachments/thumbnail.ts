import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { rgbaToThumbHash } from 'thumbhash';

/** ThumbHash takes at most 100x100 pixels. */
const THUMB_MAX = 100;
/** Larger images get no placeholder: decoding them would cost too much memory on a request. */
const MAX_PIXELS = 40_000_000;

/**
 * A ThumbHash of a PNG or JPEG (about 25 bytes, base64): a blurred placeholder with the image's
 * colours a client paints before the image loads. Undefined for other types, and for images that
 * are too large or fail to decode (the placeholder is a nicety, never a reason to refuse a file).
 */
export function thumbHashOf(
  bytes: Uint8Array,
  type: string,
  width: number,
  height: number,
): string | undefined {
  if (width * height > MAX_PIXELS) return undefined;
  try {
    const image =
      type === 'image/png'
        ? PNG.sync.read(Buffer.from(bytes))
        : type === 'image/jpeg'
          ? jpeg.decode(bytes, {
              useTArray: true,
              maxResolutionInMP: MAX_PIXELS / 1e6,
              maxMemoryUsageInMB: 512,
            })
          : null;
    if (!image) return undefined;
    const scale = Math.min(1, THUMB_MAX / Math.max(image.width, image.height));
    const w = Math.max(1, Math.round(image.width * scale));
    const h = Math.max(1, Math.round(image.height * scale));
    const small = new Uint8Array(w * h * 4);
    // Nearest-neighbour is enough: the hash keeps only the lowest frequencies anyway.
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const from = (Math.floor(y / scale) * image.width + Math.floor(x / scale)) * 4;
        small.set(image.data.subarray(from, from + 4), (y * w + x) * 4);
      }
    return Buffer.from(rgbaToThumbHash(w, h, small)).toString('base64');
  } catch {
    return undefined;
  }
}
