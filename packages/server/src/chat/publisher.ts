import type {
  ChatEvent,
  ConversationHiddenFrame,
  ReceiptUpdateFrame,
  ThreadReceiptFrame,
} from '@natter/protocol';
import type { MemberSpan } from '../store/log-store.js';
import type { Broadcaster } from './broadcaster.js';
import type { ChannelFanout } from './channel-fanout.js';
import { sendAsSeen } from './event-delivery.js';
import type { Committed } from './group-commit.js';
import type { MemberDirectory } from './member-directory.js';

/**
 * Live delivery of what was just committed: each new event to every device of every member who may
 * see it (the sender's other devices included, the sending connection excluded: it gets the ack),
 * each moved cursor to every device of every current member, and a moved thread cursor to its
 * owner's devices. Each frame is serialized once. A channel's events go to its online members
 * only (ChannelFanout: no member list is read), and a channel member's moved cursor only to their
 * own devices (channels have no receipts for others).
 */
export class Publisher {
  constructor(
    private readonly directory: MemberDirectory,
    private readonly broadcaster: Broadcaster,
    private readonly channels: ChannelFanout,
    /** Told when a member's message or edit commits: whatever they were typing is done. */
    private readonly messageSent: (conversationId: string, senderId: string) => void,
  ) {}

  publish(committed: Committed[]): void {
    for (const { op, result, origin } of committed) {
      if (!result.ok || result.value.duplicate) continue;
      const channel = result.value.channel === true;
      for (const event of result.value.events) {
        if (channel) {
          this.channels.toChannel(event, origin);
          continue;
        }
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
        if (channel) this.broadcaster.toUsers([cursor.userId], frame);
        else
          this.directory.withCurrentMembers(cursor.conversationId, (members) =>
            this.broadcaster.toUsers(members, frame),
          );
      }
    }
  }

  private deliver(event: ChatEvent, recipients: MemberSpan[], origin: Committed['origin']): void {
    sendAsSeen(event, recipients, (userIds, frame) => this.broadcaster.toUsers(userIds, frame, origin));
  }
}
