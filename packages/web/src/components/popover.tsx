import { type CSSProperties, type ReactNode, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { createPortal } from 'react-dom';

/** The phone layout (one pane at a time): the same breakpoint as app.css. */
export function isPhoneLayout(): boolean {
  return matchMedia('(max-width: 720px)').matches;
}

interface Props {
  /** The element it opened from: placed beside it on desktop, focused again when it closes. */
  anchor: HTMLElement | null;
  label: string;
  onClose: () => void;
  children: ReactNode;
  className?: string;
  /** Which edge lines up with the anchor's on desktop: its right edge (the default) or its left. */
  align?: 'start' | 'end';
}

const GAP_PX = 6;
const MARGIN_PX = 8;

/**
 * A small panel over the page, closed by Escape or a press outside it. On desktop it floats next
 * to its anchor (below it if there is room, else above); on phones it is a bottom sheet over the
 * dimmed page. Rendered into <body>, so no scrolling or clipping parent cuts it off.
 */
export function Popover({ anchor, label, onClose, children, className, align = 'end' }: Props) {
  const [sheet] = useState(isPhoneLayout);
  const panel = useRef<HTMLDivElement>(null);
  const [position, setPosition] = useState<CSSProperties | null>(null);
  const shown = sheet || position !== null;

  useLayoutEffect(() => {
    const element = panel.current;
    if (sheet || !anchor || !element) return;
    const from = anchor.getBoundingClientRect();
    const size = element.getBoundingClientRect();
    const below = from.bottom + GAP_PX;
    const top = below + size.height <= innerHeight - MARGIN_PX ? below : from.top - GAP_PX - size.height;
    const left = Math.min(
      align === 'start' ? from.left : from.right - size.width,
      innerWidth - size.width - MARGIN_PX,
    );
    setPosition({ top: Math.max(MARGIN_PX, top), left: Math.max(MARGIN_PX, left) });
  }, [sheet, anchor, align]);

  // Focus moves in once the panel is placed (a hidden element cannot take it), and back when it closes.
  useEffect(() => {
    if (!shown || !panel.current) return;
    const focusable = panel.current.querySelectorAll<HTMLElement>('button, input, [tabindex]');
    // A panel with nothing to press (a list to read) takes the focus itself, so Escape reaches it.
    ([...focusable].find((element) => element.getClientRects().length > 0) ?? panel.current).focus();
  }, [shown]);
  useEffect(() => () => anchor?.focus({ preventScroll: true }), [anchor]);

  // Escape closes it wherever the focus is (it may not have moved in yet), and goes no further: a
  // thread panel under it stays open. Listened for first, in the capture phase of the window.
  const close = useRef(onClose);
  close.current = onClose;
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Escape') return;
      event.preventDefault();
      event.stopPropagation();
      close.current();
    };
    addEventListener('keydown', onKey, true);
    return () => removeEventListener('keydown', onKey, true);
  }, []);

  return createPortal(
    <div
      className={`popover-layer${sheet ? ' sheet' : ''}`}
      onPointerDown={(event) => {
        if (event.target === event.currentTarget) onClose();
      }}
    >
      <div
        ref={panel}
        role="dialog"
        aria-label={label}
        tabIndex={-1}
        className={`popover${className ? ` ${className}` : ''}`}
        style={sheet ? undefined : (position ?? { visibility: 'hidden' })}
      >
        {sheet && <div className="sheet-handle" aria-hidden="true" />}
        {children}
      </div>
    </div>,
    document.body,
  );
}
