import type { MessageView } from '@natter/client';
import type { ErrorCode } from '@natter/protocol/core';
import type { ChatSession } from '../chat-session.js';
import { copyText, type MessageHandlers } from '../message-actions.js';

/** Why a send was refused, in the user's words (by error code, never by the server's message text). */
const REASONS: Partial<Record<ErrorCode, string>> = {
  body_too_large: 'Too long to send',
  not_found: 'You are not a member here',
  forbidden: 'You may not post here',
  bad_request: 'The server refused it',
};

/**
 * Under your message that the server refused for good: why, and what to do with it. Nothing you
 * wrote is lost: Retry sends it again as it was, Edit puts its text back in the composer (or, where
 * there is no composer because you left, Copy text keeps it), Delete drops it.
 */
export function FailedSend({
  session,
  message,
  handlers,
}: {
  session: ChatSession;
  message: MessageView;
  handlers: MessageHandlers;
}) {
  const id = message.clientMsgId;
  if (id === null) return null;
  const reason = (message.error && REASONS[message.error.code]) ?? 'Not sent';
  return (
    <div className="failed-send">
      <span className="failed-send-reason">Not sent: {reason}</span>
      <span className="failed-send-actions">
        <button type="button" onClick={() => void session.client.retry(id)}>
          Retry
        </button>
        {handlers.restoreText ? (
          <button type="button" onClick={() => handlers.restoreText?.(message)}>
            Edit
          </button>
        ) : (
          message.body && (
            <button type="button" onClick={() => void copyText(message.body ?? '', handlers)}>
              Copy text
            </button>
          )
        )}
        <button type="button" className="danger" onClick={() => void session.client.discard(id)}>
          Delete
        </button>
      </span>
    </div>
  );
}
