import type { OutboxEntry, OutboxStorage } from './outbox.js';

const STORE = 'outbox';

/**
 * The browser's outbox: unsent messages survive a reload, a crash or a closed tab, and are sent
 * (with their original client_msg_id) when the page comes back. One database per user.
 */
export class IndexedDbOutboxStorage implements OutboxStorage {
  private readonly db: Promise<IDBDatabase>;

  constructor(databaseName: string, factory: IDBFactory = indexedDB) {
    this.db = new Promise((resolve, reject) => {
      const request = factory.open(databaseName, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: 'clientMsgId' });
      request.onsuccess = () => {
        // Let a sign-out delete the database (or a newer version upgrade it) instead of blocking it.
        request.result.onversionchange = () => request.result.close();
        resolve(request.result);
      };
      request.onerror = () => reject(request.error);
    });
  }

  async load(): Promise<OutboxEntry[]> {
    const entries = await this.run<OutboxEntry[]>('readonly', (store) => store.getAll());
    return entries.sort((a, b) => a.createdAt - b.createdAt);
  }

  async save(entry: OutboxEntry): Promise<void> {
    await this.run('readwrite', (store) => store.put({ ...entry }));
  }

  async remove(clientMsgId: string): Promise<void> {
    await this.run('readwrite', (store) => store.delete(clientMsgId));
  }

  /** One request in its own transaction; resolves once the transaction has committed. */
  private async run<T>(mode: IDBTransactionMode, use: (store: IDBObjectStore) => IDBRequest): Promise<T> {
    const db = await this.db;
    return new Promise<T>((resolve, reject) => {
      const transaction = db.transaction(STORE, mode);
      const request = use(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(request.result as T);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
  }
}
