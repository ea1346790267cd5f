import type { MessageView } from '@natter/client';
import type { AttachmentRef } from '@natter/protocol/core';
import { useEffect, useMemo, useState } from 'react';
import { createPortal } from 'react-dom';
import { thumbHashToDataURL } from 'thumbhash';
import type { ChatSession } from '../chat-session.js';
import { useEscape } from './use-escape.js';

/** Largest box an image preview takes in the timeline (CSS pixels). */
const PREVIEW_MAX = 320;

/**
 * A message's files: images as previews whose box is reserved from the recorded size before they
 * load (a click opens the lightbox), anything else as a card that downloads the file.
 */
export function MessageAttachments({ session, message }: { session: ChatSession; message: MessageView }) {
  const [open, setOpen] = useState<{ ref: AttachmentRef; url: string } | null>(null);
  if (message.attachments.length === 0) return null;
  return (
    <div className="attachments">
      {message.attachments.map((ref) =>
        ref.type.startsWith('image/') && ref.width && ref.height ? (
          <ImagePreview key={ref.id} session={session} message={message} attachment={ref} onOpen={setOpen} />
        ) : (
          <FileCard key={ref.id} session={session} message={message} attachment={ref} />
        ),
      )}
      {open && <Lightbox attachment={open.ref} url={open.url} onClose={() => setOpen(null)} />}
    </div>
  );
}

interface AttachmentProps {
  session: ChatSession;
  message: MessageView;
  attachment: AttachmentRef;
}

/** A signed URL for the attachment (null until it arrives, or while the message is unsent). */
function useAttachmentUrl({ session, message, attachment }: AttachmentProps): string | null {
  const [url, setUrl] = useState<string | null>(null);
  const { conversationId, seq } = message;
  useEffect(() => {
    if (seq === null) return;
    let live = true;
    session.http
      .attachmentUrl(conversationId, seq, attachment.id)
      .then((signed) => live && setUrl(signed))
      .catch(() => live && setUrl(null));
    return () => {
      live = false;
    };
  }, [session, conversationId, seq, attachment.id]);
  return url;
}

function ImagePreview(
  props: AttachmentProps & { onOpen: (open: { ref: AttachmentRef; url: string }) => void },
) {
  const { attachment, onOpen } = props;
  const url = useAttachmentUrl(props);
  const placeholder = useMemo(() => placeholderOf(attachment.thumbhash), [attachment.thumbhash]);
  const scale = Math.min(1, PREVIEW_MAX / Math.max(attachment.width!, attachment.height!));
  const width = Math.max(48, Math.round(attachment.width! * scale));
  return (
    <button
      type="button"
      className="attachment-image"
      aria-label={`Open ${attachment.name}`}
      style={{
        width: `${width}px`,
        aspectRatio: `${attachment.width} / ${attachment.height}`,
        ...(placeholder ? { backgroundImage: `url(${placeholder})`, backgroundSize: 'cover' } : {}),
      }}
      onClick={() => url && onOpen({ ref: attachment, url })}
    >
      {url && <img src={url} alt={attachment.name} width={attachment.width} height={attachment.height} />}
    </button>
  );
}

function FileCard(props: AttachmentProps) {
  const { attachment } = props;
  const url = useAttachmentUrl(props);
  return (
    <a className="attachment-file" href={url ?? undefined} download={attachment.name} aria-disabled={!url}>
      <span className="attachment-file-icon" aria-hidden="true">
        {extensionOf(attachment.name)}
      </span>
      <span className="attachment-file-text">
        <span className="attachment-file-name">{attachment.name}</span>
        <span className="attachment-file-size">{formatBytes(attachment.size)}</span>
      </span>
    </a>
  );
}

function Lightbox({
  attachment,
  url,
  onClose,
}: {
  attachment: AttachmentRef;
  url: string;
  onClose: () => void;
}) {
  useEscape(onClose);
  // In the body: a bubble's stacking context would clip a fixed overlay inside it.
  return createPortal(
    // biome-ignore lint/a11y/useKeyWithClickEvents: Escape closes it (useEscape); the click is the backdrop's
    <div className="lightbox" role="dialog" aria-modal="true" aria-label={attachment.name} onClick={onClose}>
      <img src={url} alt={attachment.name} width={attachment.width} height={attachment.height} />
      <span className="lightbox-caption">{attachment.name}</span>
    </div>,
    document.body,
  );
}

/** The blurred placeholder a ThumbHash stands for, as a data URL (null without one, or a bad one). */
function placeholderOf(thumbhash: string | undefined): string | null {
  if (!thumbhash) return null;
  try {
    return thumbHashToDataURL(Uint8Array.from(atob(thumbhash), (c) => c.charCodeAt(0)));
  } catch {
    return null;
  }
}

function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1, dot + 5).toUpperCase() : 'FILE';
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
