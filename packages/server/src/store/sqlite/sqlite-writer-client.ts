import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { NatterError } from '@natter/protocol';
import type { WriteOp, WriteResult } from '../write-ops.js';
import type { AccountWrite } from './sqlite-account-writer.js';
import type { WriterReply, WriterRequest } from './sqlite-writer-messages.js';

interface Pending {
  resolve: (results: WriteResult[]) => void;
  reject: (error: Error) => void;
}

type Request = { type: 'commit'; ops: WriteOp[] } | { type: 'account'; write: AccountWrite };

/**
 * The main thread's handle on the writer thread. One `commit` = one transaction on the writer.
 * If the thread dies, every pending and later commit fails (retryable `unavailable`).
 */
export class SqliteWriterClient {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | undefined;

  constructor(dataDir: string) {
    this.worker = new Worker(workerScript(), { workerData: { dataDir } });
    this.worker.on('message', (reply: WriterReply) => this.onReply(reply));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`SQLite writer thread exited (${code})`)));
  }

  commit(ops: WriteOp[]): Promise<WriteResult[]> {
    return this.call({ type: 'commit', ops });
  }

  /** One account write in a transaction of its own; rejects with its NatterError if refused. */
  async account(write: AccountWrite): Promise<void> {
    await this.call({ type: 'account', write });
  }

  private call(request: Request): Promise<WriteResult[]> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id } satisfies WriterRequest);
    });
  }

  async close(): Promise<void> {
    if (this.failure) return;
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.postMessage({ type: 'close' } satisfies WriterRequest);
    await exited;
  }

  private onReply(reply: WriterReply): void {
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.pending.delete(reply.id);
    if ('failure' in reply) {
      pending.reject(new Error(reply.failure));
      return;
    }
    if ('done' in reply) {
      if (reply.error) pending.reject(new NatterError(reply.error.code, reply.error.message));
      else pending.resolve([]);
      return;
    }
    pending.resolve(
      reply.results.map((r) =>
        r.ok ? r : { ok: false, error: new NatterError(r.error.code, r.error.message) },
      ),
    );
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const pending of this.pending.values()) pending.reject(this.failure);
    this.pending.clear();
  }
}

/**
 * The compiled worker file. When the server runs from TypeScript sources (the test runner), the
 * worker still runs the compiled twin in dist/, which `npm test` builds first.
 */
function workerScript(): URL {
  const beside = new URL('./sqlite-writer-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  return new URL(beside.href.replace('/src/store/sqlite/', '/dist/store/sqlite/'));
}
