import { type RefObject, useEffect, useLayoutEffect } from 'react';

/**
 * Fits a textarea's height to its text on every change, up to its CSS `max-height`, past which it
 * scrolls: a one-line composer that grows as a message gets longer. It fits again when its width
 * changes (a resized window wraps the text differently; a pane laid out after the first render).
 */
export function useGrowWithContent(textarea: RefObject<HTMLTextAreaElement | null>, text: string): void {
  // biome-ignore lint/correctness/useExhaustiveDependencies: the text is what changes the height
  useLayoutEffect(() => {
    if (textarea.current) fit(textarea.current);
  }, [textarea, text]);

  useEffect(() => {
    const element = textarea.current;
    if (!element) return;
    let width = element.clientWidth;
    const observer = new ResizeObserver(() => {
      if (element.clientWidth === width) return;
      width = element.clientWidth;
      fit(element);
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, [textarea]);
}

function fit(element: HTMLTextAreaElement): void {
  element.style.height = 'auto';
  // Not laid out (in a pane still hidden): measuring would read 0 and pin a 0 px field.
  if (element.getClientRects().length === 0 || element.clientWidth === 0) return;
  const border = element.offsetHeight - element.clientHeight;
  element.style.height = `${element.scrollHeight + border}px`;
}
