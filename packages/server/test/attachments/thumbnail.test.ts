import sharp from 'sharp';
import { thumbHashToApproximateAspectRatio, thumbHashToAverageRGBA } from 'thumbhash';
import { describe, expect, it } from 'vitest';
import { imageSize } from '../../src/attachments/image-size.js';
import { thumbHashOf } from '../../src/attachments/thumbnail.js';

const RED = { r: 220, g: 20, b: 20, alpha: 1 };
const BLUE = { r: 20, g: 20, b: 220, alpha: 1 };

function solid(width: number, height: number, background: typeof RED) {
  return sharp({ create: { width, height, channels: 4, background } });
}

/** Sizes and placeholders of real encoded images, the way an upload gets them. */
async function placeholder(bytes: Buffer, type: string) {
  const size = imageSize(bytes, type);
  if (!size) throw new Error(`no size read from the ${type}`);
  const hash = await thumbHashOf(bytes, type, size.width, size.height);
  if (!hash) throw new Error(`no placeholder for the ${type}`);
  const decoded = Buffer.from(hash, 'base64');
  return {
    size,
    average: thumbHashToAverageRGBA(decoded),
    ratio: thumbHashToApproximateAspectRatio(decoded),
  };
}

describe('image placeholders (ThumbHash) for every image type a chat carries', () => {
  it.each([
    ['image/png', () => solid(40, 20, RED).png().toBuffer()],
    ['image/jpeg', () => solid(40, 20, RED).jpeg().toBuffer()],
    ['image/gif', () => solid(40, 20, RED).gif().toBuffer()],
    ['image/webp', () => solid(40, 20, RED).webp().toBuffer()],
    ['image/webp', () => solid(40, 20, RED).webp({ lossless: true }).toBuffer()],
  ] as const)('%s: its size, and a placeholder of its colour and shape', async (type, encode) => {
    const { size, average, ratio } = await placeholder(await encode(), type);
    expect(size).toEqual({ width: 40, height: 20 });
    expect(average.r).toBeGreaterThan(0.7);
    expect(average.b).toBeLessThan(0.3);
    expect(ratio).toBeCloseTo(2, 0);
  });

  it('takes the first frame of an animated GIF', async () => {
    const frames = await Promise.all([
      solid(30, 30, BLUE).png().toBuffer(),
      solid(30, 30, RED).png().toBuffer(),
    ]);
    const animated = await sharp(frames, { join: { animated: true } })
      .gif({ delay: [100, 100] })
      .toBuffer();
    expect((await sharp(animated).metadata()).pages).toBe(2);
    const { average } = await placeholder(animated, 'image/gif');
    expect(average.b).toBeGreaterThan(0.7);
    expect(average.r).toBeLessThan(0.3);
  });

  it('gives none for an image too large to decode on a request, a broken one, or another type', async () => {
    const gif = await solid(40, 20, RED).gif().toBuffer();
    // A header claiming 10,000 x 10,000 pixels: refused before decoding.
    const bomb = Buffer.from(gif);
    bomb.writeUInt16LE(10_000, 6);
    bomb.writeUInt16LE(10_000, 8);
    expect(await thumbHashOf(bomb, 'image/gif', 10_000, 10_000)).toBeUndefined();
    expect(await thumbHashOf(gif.subarray(0, 20), 'image/gif', 40, 20)).toBeUndefined();
    expect(await thumbHashOf(gif, 'application/pdf', 40, 20)).toBeUndefined();
  });
});
