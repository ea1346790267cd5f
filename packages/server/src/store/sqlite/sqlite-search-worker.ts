import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteReadOnly } from './sqlite-database.js';
import type {
  SearchThreadOptions,
  SearchThreadReply,
  SearchThreadRequest,
} from './sqlite-search-messages.js';
import { SqliteSearchReader } from './sqlite-search-reader.js';

/**
 * The embedded store's search thread: a search runs synchronously (better-sqlite3), for up to tens
 * of milliseconds for a common word, and blocks this thread instead of the one serving sockets.
 * SqliteMessageSearch sends one search at a time.
 */
const port = parentPort!;
const { dataDir } = workerData as SearchThreadOptions;
const db = openSqliteReadOnly(dataDir);
const reader = new SqliteSearchReader(db);

function answer(request: Extract<SearchThreadRequest, { type: 'search' }>): SearchThreadReply {
  try {
    return { type: 'page', id: request.id, page: reader.search(request.query) };
  } catch (error) {
    return { type: 'failure', id: request.id, message: String(error) };
  }
}

port.postMessage({ type: 'ready' } satisfies SearchThreadReply);

port.on('message', (request: SearchThreadRequest) => {
  if (request.type === 'close') {
    db.close();
    port.close();
    return;
  }
  port.postMessage(answer(request));
});
