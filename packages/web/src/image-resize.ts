import { MAX_AVATAR_BYTES } from '@natter/protocol/core';

/** The side of the square an avatar is stored at: sharp at 2× for the largest size shown (64 px). */
export const AVATAR_SIDE = 128;

/**
 * A picked image as an avatar: its centre square scaled to AVATAR_SIDE, as WebP (JPEG where the
 * browser cannot encode WebP), lowering the quality until it fits MAX_AVATAR_BYTES. Rejects with
 * a sentence for the person when the file is not an image the browser can read.
 */
export async function avatarFromFile(file: Blob): Promise<Blob> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new Error('That file is not an image this browser can read.');
  }
  const canvas = document.createElement('canvas');
  canvas.width = AVATAR_SIDE;
  canvas.height = AVATAR_SIDE;
  const context = canvas.getContext('2d');
  if (!context) throw new Error('This browser cannot resize images.');
  const side = Math.min(bitmap.width, bitmap.height);
  const sx = (bitmap.width - side) / 2;
  const sy = (bitmap.height - side) / 2;
  context.imageSmoothingQuality = 'high';
  context.drawImage(bitmap, sx, sy, side, side, 0, 0, AVATAR_SIDE, AVATAR_SIDE);
  bitmap.close();
  for (const quality of [0.9, 0.75, 0.6, 0.45]) {
    const blob = await encode(canvas, quality);
    if (blob.size <= MAX_AVATAR_BYTES) return blob;
  }
  throw new Error('That image is too detailed to fit; try another.');
}

async function encode(canvas: HTMLCanvasElement, quality: number): Promise<Blob> {
  const webp = await toBlob(canvas, 'image/webp', quality);
  if (webp?.type === 'image/webp') return webp;
  const jpeg = await toBlob(canvas, 'image/jpeg', quality);
  if (!jpeg) throw new Error('This browser cannot encode images.');
  return jpeg;
}

function toBlob(canvas: HTMLCanvasElement, type: string, quality: number): Promise<Blob | null> {
  return new Promise((resolve) => canvas.toBlob(resolve, type, quality));
}
