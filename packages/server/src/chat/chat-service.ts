import {
  type AckFrame,
  type DeleteFrame,
  type EditFrame,
  MAX_METADATA_BYTES,
  NatterError,
  type ReceiptFrame,
  type SendFrame,
} from '@natter/protocol';
import type { Metrics } from '../metrics.js';
import type { AppendOp, WriteOutcome } from '../store/write-ops.js';
import type { GroupCommitter } from './group-commit.js';

/** Who is acting: the user, the device they named, the connection the request came on. */
export interface Actor {
  userId: string;
  deviceId: string | null;
  connectionId: string;
}

type AppendFrame = SendFrame | EditFrame | DeleteFrame;

/**
 * The send pipeline: validate -> (authorize, dedupe, sequence, persist: inside the store's
 * transaction, batched by the group committer) -> ack. Fan-out happens in the Publisher, after the
 * commit and before this returns.
 */
export class ChatService {
  constructor(
    private readonly committer: GroupCommitter,
    private readonly metrics: Metrics,
    private readonly maxBodyBytes: number,
  ) {}

  async append(actor: Actor, frame: AppendFrame): Promise<AckFrame> {
    const body = frame.type === 'delete' ? null : frame.body;
    if (body !== null) this.checkBody(body);
    const metadata = frame.type === 'send' ? (frame.metadata ?? null) : null;
    if (metadata !== null) checkMetadata(metadata);
    const op: AppendOp = {
      kind: 'append',
      eventKind: frame.type === 'send' ? 'message' : frame.type,
      conversationId: frame.conversation_id,
      senderId: actor.userId,
      deviceId: actor.deviceId,
      clientMsgId: frame.client_msg_id,
      body,
      refSeq: frame.type === 'send' ? null : frame.target_seq,
      metadata,
    };
    let value: WriteOutcome;
    try {
      value = await this.committer.write(op, actor.connectionId);
    } catch (error) {
      this.metrics.sends.inc({ outcome: 'rejected' });
      throw error;
    }
    this.metrics.sends.inc({ outcome: value.duplicate ? 'duplicate' : 'stored' });
    const event = value.events[0]!;
    return {
      type: 'ack',
      re: frame.id,
      conversation_id: event.conversation_id,
      client_msg_id: frame.client_msg_id,
      seq: event.seq,
      created_at: event.created_at,
      duplicate: value.duplicate,
    };
  }

  /** Moves the actor's cursor; the Publisher tells every member's devices if it moved. */
  async receipt(actor: Actor, frame: ReceiptFrame): Promise<void> {
    await this.committer.write({
      kind: 'cursor',
      conversationId: frame.conversation_id,
      userId: actor.userId,
      delivered: frame.kind === 'delivered' ? frame.seq : null,
      read: frame.kind === 'read' ? frame.seq : null,
    });
  }

  private checkBody(body: string): void {
    if (body.trim().length === 0) throw new NatterError('bad_request', 'A message body must not be empty.');
    if (!body.isWellFormed())
      throw new NatterError('bad_request', 'The body contains unpaired UTF-16 surrogates.');
    if (Buffer.byteLength(body, 'utf8') > this.maxBodyBytes) {
      throw new NatterError('body_too_large', `The body exceeds ${this.maxBodyBytes} bytes (UTF-8).`);
    }
  }
}

function checkMetadata(metadata: Record<string, unknown>): void {
  const bytes = Buffer.byteLength(JSON.stringify(metadata), 'utf8');
  if (bytes > MAX_METADATA_BYTES)
    throw new NatterError('bad_request', `metadata exceeds ${MAX_METADATA_BYTES} bytes as JSON (${bytes}).`);
}
