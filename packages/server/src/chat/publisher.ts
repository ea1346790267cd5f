import type {
  ChatEvent,
  ConversationHiddenFrame,
  EventFrame,
  ReceiptUpdateFrame,
  ThreadReceiptFrame,
} from '@natter/protocol';
import type { MemberSpan } from '../store/log-store.js';
import { asSeenFrom, contentSourceOf } from '../store/pre-join-view.js';
import type { Broadcaster } from './broadcaster.js';
import type { Committed } from './group-commit.js';
import type { MemberDirectory } from './member-directory.js';

/**
 * Live delivery of what was just committed: each new event to every device of every member who may
 * see it (the sender's other devices included, the sending connection excluded: it gets the ack),
 * each moved cursor to every device of every current member, and a moved thread cursor to its
 * owner's devices. Each frame is serialized once.
 */
export class Publisher {
  constructor(
    private readonly directory: MemberDirectory,
    private readonly broadcaster: Broadcaster,
    /** Told when a member's message or edit commits: whatever they were typing is done. */
    private readonly messageSent: (conversationId: string, senderId: string) => void,
  ) {}

  publish(committed: Committed[]): void {
    for (const { op, result, origin } of committed) {
      if (!result.ok || result.value.duplicate) continue;
      for (const event of result.value.events) {
        this.directory.route(event, (recipients) => this.deliver(event, recipients, origin));
        if (event.kind === 'message' || event.kind === 'edit')
          this.messageSent(event.conversation_id, event.sender_id);
      }
      const thread = result.value.threadCursor;
      if (thread) {
        const frame = JSON.stringify({
          type: 'thread_receipt',
          conversation_id: thread.conversationId,
          root_seq: thread.rootSeq,
          read_seq: thread.readSeq,
          unread: thread.unread,
        } satisfies ThreadReceiptFrame);
        this.broadcaster.toUsers([thread.userId], frame);
      }
      if (op.kind === 'hide') {
        const frame = JSON.stringify({
          type: 'conversation_hidden',
          conversation_id: op.conversationId,
        } satisfies ConversationHiddenFrame);
        this.broadcaster.toUsers([op.userId], frame);
      }
      const cursor = result.value.cursor;
      if (op.kind === 'cursor' && cursor) {
        const frame = JSON.stringify({
          type: 'receipt',
          conversation_id: cursor.conversationId,
          user_id: cursor.userId,
          delivered_seq: cursor.deliveredSeq,
          read_seq: cursor.readSeq,
        } satisfies ReceiptUpdateFrame);
        this.directory.withCurrentMembers(cursor.conversationId, (members) =>
          this.broadcaster.toUsers(members, frame),
        );
      }
    }
  }

  /**
   * An event carrying the content of an earlier message (an edit, a quote) goes as it is to those
   * who could see that message, and without that content to those who joined after it.
   */
  private deliver(event: ChatEvent, recipients: MemberSpan[], origin: Committed['origin']): void {
    const source = contentSourceOf(event);
    if (source === null) {
      this.send(recipients, event, origin);
      return;
    }
    const seeing: MemberSpan[] = [];
    const later: MemberSpan[] = [];
    for (const r of recipients) (r.joinedSeq > source ? later : seeing).push(r);
    this.send(seeing, event, origin);
    if (later.length > 0) this.send(later, asSeenFrom(event, later[0]!.joinedSeq), origin);
  }

  private send(to: MemberSpan[], event: ChatEvent, origin: Committed['origin']): void {
    if (to.length === 0) return;
    const frame = JSON.stringify({ type: 'event', event } satisfies EventFrame);
    this.broadcaster.toUsers(
      to.map((r) => r.userId),
      frame,
      origin,
    );
  }
}
