import type { NatterHttp } from '@natter/client';

/**
 * Avatar images as object URLs, fetched with the session's token (an <img src> could not send it),
 * one fetch per user and avatar version. A new version (the tag in the user's profile) replaces the
 * image; the old URL is released. `changed` runs when an image arrives, so screens re-render.
 */
export class AvatarImages {
  private readonly images = new Map<string, { tag: string; url: string | null }>();
  private arrived = 0;

  constructor(
    private readonly http: NatterHttp,
    private readonly changed: () => void,
  ) {}

  /** The image of this version of the user's avatar, once fetched; undefined meanwhile or without one. */
  urlOf(userId: string, tag: string | null): string | undefined {
    if (!tag) return undefined;
    const known = this.images.get(userId);
    if (known?.tag === tag) return known.url ?? undefined;
    if (known?.url) URL.revokeObjectURL(known.url);
    this.images.set(userId, { tag, url: null });
    this.http.avatar(userId).then(
      (blob) => {
        if (this.images.get(userId)?.tag !== tag || !blob) return;
        this.images.set(userId, { tag, url: URL.createObjectURL(blob) });
        this.arrived += 1;
        this.changed();
      },
      // Offline or refused: initials stay, and the next start tries again.
      () => {},
    );
    return undefined;
  }

  /** Moves whenever an image arrives: part of what screens showing people select. */
  get version(): number {
    return this.arrived;
  }

  close(): void {
    for (const { url } of this.images.values()) if (url) URL.revokeObjectURL(url);
    this.images.clear();
  }
}
