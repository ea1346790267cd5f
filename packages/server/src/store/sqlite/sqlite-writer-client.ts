import { Worker } from 'node:worker_threads';
import { NatterError } from '@natter/protocol';
import type { Logger } from 'pino';
import { type Clock, systemClock } from '../../clock.js';
import { workerScript } from '../../compiled-twin.js';
import type { PushJob, PushWrite } from '../../push/push-store.js';
import type { WebhookWrite, WebhookWriteResult } from '../../webhooks/webhook-store.js';
import type { WriteOp, WriteResult } from '../write-ops.js';
import type { AccountWrite } from './sqlite-account-writer.js';
import type { WriterOptions, WriterReply, WriterRequest } from './sqlite-writer-messages.js';

interface Pending {
  /** A commit's results, or an account, push or webhook write's answer. */
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
}

type Request =
  | { type: 'commit'; ops: WriteOp[]; now: number }
  | { type: 'account'; write: AccountWrite }
  | { type: 'push'; write: PushWrite }
  | { type: 'webhook'; write: WebhookWrite }
  | { type: 'index' };

const RESTART_DELAY_MS = 500;

/**
 * The main thread's handle on the writer thread. One `commit` = one transaction on the writer.
 * If the thread dies, its pending writes fail (the caller reports them as retryable `unavailable`;
 * an unfinished transaction stored nothing), the failure is logged, and a new writer thread starts.
 * `healthy` is false from the failure until the new thread has opened the database.
 */
export class SqliteWriterClient {
  /** null while a failed thread is being replaced: writes are refused meanwhile (retryable). */
  private worker: Worker | null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closing = false;
  private alive = false;
  private readonly readyWaiters: Array<() => void> = [];

  constructor(
    private readonly options: WriterOptions,
    private readonly log: Logger,
    /** Stamps the events of each commit (the writer thread cannot share the main thread's clock). */
    private readonly clock: Clock = systemClock,
  ) {
    this.worker = this.start();
  }

  get healthy(): boolean {
    return this.alive;
  }

  /** Resolves once a writer thread has opened the database. */
  whenReady(): Promise<void> {
    if (this.alive) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  async commit(ops: WriteOp[]): Promise<WriteResult[]> {
    const results = await this.call({ type: 'commit', ops, now: this.clock.now() });
    return typeof results === 'number' ? [] : (results as WriteResult[]);
  }

  /**
   * One account write in a transaction of its own; resolves with how many rows it changed, rejects
   * with its NatterError if refused.
   */
  async account(write: AccountWrite): Promise<number> {
    const changes = await this.call({ type: 'account', write });
    return typeof changes === 'number' ? changes : 0;
  }

  /** An account write that revokes sessions; resolves with the keys of those it revoked. */
  async revokeSessions(
    write: Extract<AccountWrite, { op: 'resetPassword' | 'revokeUserSessions' }>,
  ): Promise<string[]> {
    const keys = await this.call({ type: 'account', write });
    return Array.isArray(keys) ? (keys as string[]) : [];
  }

  /** One push queue write in a transaction of its own: claimed jobs, or how many rows it changed. */
  async push(write: PushWrite): Promise<PushJob[] | number> {
    return (await this.call({ type: 'push', write })) as PushJob[] | number;
  }

  /** One webhook store write in a transaction of its own, with its answer. */
  async webhook(write: WebhookWrite): Promise<WebhookWriteResult> {
    return (await this.call({ type: 'webhook', write })) as WebhookWriteResult;
  }

  /** Resolves once every message committed before the call is indexed for search. */
  async indexed(): Promise<void> {
    await this.call({ type: 'index' });
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.postMessage({ type: 'close' } satisfies WriterRequest);
    await exited;
  }

  private start(): Worker {
    const worker = new Worker(workerScript(new URL('./sqlite-writer-worker.js', import.meta.url)), {
      workerData: this.options,
    });
    worker.on('message', (reply: WriterReply | { type: 'ready' }) => {
      if ('type' in reply) {
        this.alive = true;
        for (const resolve of this.readyWaiters.splice(0)) resolve();
      } else {
        this.onReply(reply);
      }
    });
    worker.on('error', (error) => this.fail(worker, error));
    worker.on('exit', (code) =>
      this.fail(worker, new Error(`SQLite writer thread exited with code ${code}`)),
    );
    return worker;
  }

  private call(request: Request): Promise<unknown> {
    const worker = this.worker;
    if (this.closing || !worker) return Promise.reject(new Error('The SQLite writer thread is not running.'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ ...request, id } satisfies WriterRequest);
    });
  }

  private onReply(reply: WriterReply): void {
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.pending.delete(reply.id);
    if ('failure' in reply) {
      pending.reject(new Error(reply.failure));
    } else if ('pushed' in reply) {
      pending.resolve(reply.pushed);
    } else if ('webhooked' in reply) {
      pending.resolve(reply.webhooked);
    } else if ('done' in reply) {
      if (reply.error) pending.reject(new NatterError(reply.error.code, reply.error.message));
      else pending.resolve(reply.changes);
    } else {
      pending.resolve(
        reply.results.map(
          (r): WriteResult =>
            r.ok ? r : { ok: false, error: new NatterError(r.error.code, r.error.message) },
        ),
      );
    }
  }

  private fail(worker: Worker, error: Error): void {
    if (worker !== this.worker || this.closing) return;
    this.alive = false;
    this.log.error({ err: error, pending: this.pending.size }, 'SQLite writer thread failed; restarting it');
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
    this.worker = null;
    // The delay keeps a writer that cannot start (say, an unwritable data dir) from spinning.
    setTimeout(() => {
      if (!this.closing) this.worker = this.start();
    }, RESTART_DELAY_MS).unref();
  }
}
