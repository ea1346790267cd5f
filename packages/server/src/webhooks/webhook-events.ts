import { createHash } from 'node:crypto';
import type { ChatEvent, EventKind, WebhookEventType } from '@natter/protocol';
import type { Webhook } from './webhook-store.js';

/** Which webhook event type each log event is, if any (renames, pins and settings have none yet). */
const TYPE_OF: Partial<Record<EventKind, WebhookEventType>> = {
  message: 'message',
  edit: 'edit',
  delete: 'delete',
  reaction: 'reaction',
  created: 'membership',
  member_added: 'membership',
  member_removed: 'membership',
  member_left: 'membership',
  role_changed: 'membership',
};

function webhookTypeOf(kind: EventKind): WebhookEventType | undefined {
  return TYPE_OF[kind];
}

/**
 * A delivery's id: the same for the same webhook and event, so fanning an event out again (a
 * retried transaction) cannot make a second delivery, and receivers dedupe on it.
 */
function deliveryIdOf(webhookId: string, event: Pick<ChatEvent, 'conversation_id' | 'seq'>): string {
  const digest = createHash('sha256').update(`${webhookId}\n${event.conversation_id}\n${event.seq}`).digest();
  return `wd_${digest.subarray(0, 18).toString('base64url')}`;
}

/** The JSON body POSTed for one delivery (docs/protocol.md §11.5). */
function webhookPayload(deliveryId: string, type: WebhookEventType, event: ChatEvent): string {
  return JSON.stringify({ delivery_id: deliveryId, type, event });
}

/** A delivery to add: the row `fanOut` inserts (pending, due at once). */
export interface NewDelivery {
  id: string;
  webhookId: string;
  type: WebhookEventType;
  payload: string;
  /** The event's change position: deliveries due at once go in commit order. */
  eventPos: number;
  createdAt: number;
}

/** The deliveries one event committed at `pos` makes: one per enabled webhook subscribed to its type. */
export function deliveriesFor(
  event: ChatEvent,
  pos: number,
  webhooks: readonly Pick<Webhook, 'id' | 'events' | 'enabled' | 'fromPos'>[],
  now: number,
): NewDelivery[] {
  const type = webhookTypeOf(event.kind);
  if (type === undefined) return [];
  return webhooks
    .filter((w) => w.enabled && w.fromPos < pos && w.events.includes(type))
    .map((w) => {
      const id = deliveryIdOf(w.id, event);
      return {
        id,
        webhookId: w.id,
        type,
        payload: webhookPayload(id, type, event),
        eventPos: pos,
        createdAt: now,
      };
    });
}
