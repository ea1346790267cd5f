import type { ErrorCode } from '@natter/protocol';
import type { PushJob, PushWrite } from '../../push/push-store.js';
import type { WebhookWrite, WebhookWriteResult } from '../../webhooks/webhook-store.js';
import type { WriteOp, WriteOutcome } from '../write-ops.js';
import type { AccountWrite } from './sqlite-account-writer.js';

/** What the writer thread is started with. */
export interface WriterOptions {
  dataDir: string;
  /** WAL size, in pages, that triggers a checkpoint on the writer thread. */
  checkpointPages: number;
}

/** Messages between the main thread and the writer thread (structured-cloned, so no classes). */
export type WriterRequest =
  | {
      type: 'commit';
      id: number;
      ops: WriteOp[] /** The events' time (ms), from the main thread's clock. */;
      now: number;
    }
  | { type: 'account'; id: number; write: AccountWrite }
  | { type: 'push'; id: number; write: PushWrite }
  | { type: 'webhook'; id: number; write: WebhookWrite }
  /** Index every message committed so far for search; answered with `done` once it is. */
  | { type: 'index'; id: number }
  | { type: 'close' };

export type SerializedResult = { ok: true; value: WriteOutcome } | { ok: false; error: SerializedError };

export interface SerializedError {
  code: ErrorCode;
  message: string;
}

/**
 * `results` line up with a commit's ops; `done` ends an account write (`error` when it was refused,
 * else `changes`: how many rows it changed, or the keys of the sessions it revoked);
 * `pushed` ends a push queue write with its answer (claimed jobs, or a count);
 * `failure` means the transaction failed and nothing was stored.
 */
export type WriterReply =
  | { id: number; results: SerializedResult[] }
  | { id: number; done: true; changes: number | string[]; error?: SerializedError }
  | { id: number; pushed: PushJob[] | number }
  | { id: number; webhooked: WebhookWriteResult }
  | { id: number; failure: string };
