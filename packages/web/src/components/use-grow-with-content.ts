import { type RefObject, useLayoutEffect } from 'react';

/**
 * Fits a textarea's height to its text on every change, up to its CSS `max-height`, past which it
 * scrolls: a one-line composer that grows as a message gets longer.
 */
export function useGrowWithContent(textarea: RefObject<HTMLTextAreaElement | null>, text: string): void {
  // biome-ignore lint/correctness/useExhaustiveDependencies: the text is what changes the height
  useLayoutEffect(() => {
    const element = textarea.current;
    if (!element) return;
    element.style.height = 'auto';
    const border = element.offsetHeight - element.clientHeight;
    element.style.height = `${element.scrollHeight + border}px`;
  }, [textarea, text]);
}
