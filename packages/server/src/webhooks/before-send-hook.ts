import { NatterError } from '@natter/protocol';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import { SIGNATURE_HEADER, signWebhook } from './webhook-signature.js';

/** A new message as the hook sees it. */
export interface PendingMessage {
  conversationId: string;
  senderId: string;
  clientMsgId: string;
  body: string;
}

/**
 * The product's synchronous moderation of new messages. `review` resolves with the body to store
 * (the original, or a rewrite) or rejects with `message_rejected`; when the hook cannot answer, the
 * fail mode decides: store as sent (open) or `moderation_unavailable` (closed).
 */
export interface BeforeSendHook {
  review(message: PendingMessage): Promise<string>;
}

export interface BeforeSendSettings {
  url: string;
  secret: string;
  timeoutMs: number;
  failMode: 'open' | 'closed';
}

const Verdict = z.discriminatedUnion('action', [
  z.object({ action: z.literal('allow') }),
  z.object({ action: z.literal('reject'), reason: z.string().max(200).optional() }),
  z.object({ action: z.literal('rewrite'), body: z.string() }),
]);

/** The hook over HTTP: a signed JSON POST, answered `{action: allow | reject | rewrite}` within the deadline. */
export class HttpBeforeSendHook implements BeforeSendHook {
  constructor(
    private readonly settings: BeforeSendSettings,
    private readonly clock: Clock,
  ) {}

  async review(message: PendingMessage): Promise<string> {
    const verdict = await this.ask(message);
    if (verdict === null) {
      if (this.settings.failMode === 'open') return message.body;
      throw new NatterError('moderation_unavailable');
    }
    if (verdict.action === 'reject')
      throw new NatterError(
        'message_rejected',
        verdict.reason ?? "The product's moderation refused this message.",
      );
    return verdict.action === 'rewrite' ? verdict.body : message.body;
  }

  /** The hook's verdict, or null when it timed out, failed or answered something else. */
  private async ask(message: PendingMessage): Promise<z.infer<typeof Verdict> | null> {
    const body = JSON.stringify({
      type: 'before_send',
      conversation_id: message.conversationId,
      sender_id: message.senderId,
      client_msg_id: message.clientMsgId,
      body: message.body,
    });
    try {
      const answer = await fetch(this.settings.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: signWebhook(this.settings.secret, this.clock.now(), body),
        },
        body,
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
      if (!answer.ok) return null;
      const parsed = Verdict.safeParse(await answer.json());
      return parsed.success ? parsed.data : null;
    } catch {
      return null;
    }
  }
}
