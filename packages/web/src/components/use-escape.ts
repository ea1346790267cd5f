import { useEffect, useRef } from 'react';

/**
 * Calls `onEscape` on an Escape pressed anywhere in the page, unless something inside took the key
 * first (a menu, the composer cancelling a reply: they call `preventDefault`). For side panels.
 */
export function useEscape(onEscape: () => void): void {
  const latest = useRef(onEscape);
  latest.current = onEscape;
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape' && !event.defaultPrevented) latest.current();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
}
