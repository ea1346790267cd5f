import { parentPort, workerData } from 'node:worker_threads';
import { NatterError } from '@natter/protocol';
import { SqliteAccountWriter } from './sqlite-account-writer.js';
import { openSqlite } from './sqlite-database.js';
import { SqliteLogWriter } from './sqlite-log-writer.js';
import type { WriterReply, WriterRequest } from './sqlite-writer-messages.js';

/**
 * The embedded store's single writer, on its own thread: a commit's fsync (and the WAL checkpoints
 * SQLite runs after commits) block this thread, not the one serving sockets.
 */
const port = parentPort!;
const db = openSqlite((workerData as { dataDir: string }).dataDir);
const writer = new SqliteLogWriter(db);
const accounts = new SqliteAccountWriter(db);

function reply(request: Exclude<WriterRequest, { type: 'close' }>): WriterReply {
  const { id } = request;
  try {
    if (request.type === 'account') {
      accounts.apply(request.write);
      return { id, done: true };
    }
    const results = writer
      .commit(request.ops)
      .map((r) => (r.ok ? r : { ok: false as const, error: serialize(r.error) }));
    return { id, results };
  } catch (error) {
    if (error instanceof NatterError) return { id, done: true, error: serialize(error) };
    return { id, failure: String(error) };
  }
}

function serialize(error: NatterError) {
  return { code: error.code, message: error.message };
}

port.on('message', (request: WriterRequest) => {
  if (request.type === 'close') {
    db.close();
    port.close();
    return;
  }
  port.postMessage(reply(request));
});
