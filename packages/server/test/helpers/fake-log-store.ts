import type { LogStore } from '../../src/store/log-store.js';

/**
 * A LogStore for unit tests: the methods a test gives, and every other one failing loudly, so a
 * test never depends on a part of the port it did not mean to.
 */
export function fakeLogStore(parts: Partial<LogStore>): LogStore {
  const unused = (name: string) => () => {
    throw new Error(`LogStore.${name} is not part of this test`);
  };
  return {
    commit: unused('commit'),
    syncSince: unused('syncSince'),
    fetchAfter: unused('fetchAfter'),
    historyBefore: unused('historyBefore'),
    threadBefore: unused('threadBefore'),
    conversationFor: unused('conversationFor'),
    membersFor: unused('membersFor'),
    memberSpans: unused('memberSpans'),
    sharingConversationWith: unused('sharingConversationWith'),
    seenAlongside: unused('seenAlongside'),
    latestPosition: unused('latestPosition'),
    channelsOf: unused('channelsOf'),
    close: async () => undefined,
    ...parts,
  };
}
