import { type KeyboardEvent, type ReactNode, useCallback, useEffect, useId, useRef, useState } from 'react';
import { createPortal } from 'react-dom';

/** What to ask: "Delete this message?" with the button that does it ("Delete"). */
export interface ConfirmRequest {
  title: string;
  body?: string;
  confirmLabel: string;
  /** The action destroys something: the button is red. */
  danger?: boolean;
}

/** Asks the question in the app's own dialog; resolves true if confirmed, false if cancelled. */
export type Confirm = (request: ConfirmRequest) => Promise<boolean>;

/**
 * The app's confirmation dialog, instead of `window.confirm()`: returns the dialog to render (null
 * while nothing is asked) and the function that asks. Asking again while a question is open
 * cancels the first.
 */
export function useConfirm(): [ReactNode, Confirm] {
  const [asking, setAsking] = useState<{ request: ConfirmRequest; answer: (yes: boolean) => void } | null>(
    null,
  );
  const confirm = useCallback<Confirm>(
    (request) =>
      new Promise<boolean>((resolve) => {
        setAsking((before) => {
          before?.answer(false);
          return { request, answer: resolve };
        });
      }),
    [],
  );
  const close = (yes: boolean) => {
    asking?.answer(yes);
    setAsking(null);
  };
  const dialog = asking && (
    <ConfirmDialog request={asking.request} onConfirm={() => close(true)} onCancel={() => close(false)} />
  );
  return [dialog, confirm];
}

/**
 * A modal question over the dimmed page: focus starts on the confirming button and stays inside
 * (Tab cycles), Escape or a press outside cancels, and focus returns to where it was.
 */
export function ConfirmDialog({
  request,
  onConfirm,
  onCancel,
}: {
  request: ConfirmRequest;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const panel = useRef<HTMLDivElement>(null);
  const primary = useRef<HTMLButtonElement>(null);
  const titleId = useId();
  const bodyId = useId();

  useEffect(() => {
    const before = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    primary.current?.focus();
    return () => before?.focus({ preventScroll: true });
  }, []);

  function onKeyDown(event: KeyboardEvent) {
    if (event.key === 'Escape') {
      event.stopPropagation();
      onCancel();
    } else if (event.key === 'Tab') {
      const buttons = [...(panel.current?.querySelectorAll<HTMLElement>('button') ?? [])];
      const first = buttons[0];
      const last = buttons.at(-1);
      if (event.shiftKey && document.activeElement === first) {
        event.preventDefault();
        last?.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first?.focus();
      }
    }
  }

  return createPortal(
    // biome-ignore lint/a11y/noStaticElementInteractions: a press outside the dialog cancels, as Escape does for the keyboard
    <div
      className="dialog-backdrop confirm-backdrop"
      onPointerDown={(event) => {
        if (event.target === event.currentTarget) onCancel();
      }}
      onKeyDown={onKeyDown}
    >
      <div
        ref={panel}
        className="confirm-dialog"
        role="alertdialog"
        aria-modal="true"
        aria-labelledby={titleId}
        aria-describedby={request.body ? bodyId : undefined}
      >
        <h2 id={titleId}>{request.title}</h2>
        {request.body && <p id={bodyId}>{request.body}</p>}
        <div className="confirm-buttons">
          <button type="button" className="ghost" onClick={onCancel}>
            Cancel
          </button>
          <button
            type="button"
            ref={primary}
            className={request.danger ? 'primary danger-fill' : 'primary'}
            onClick={onConfirm}
          >
            {request.confirmLabel}
          </button>
        </div>
      </div>
    </div>,
    document.body,
  );
}
