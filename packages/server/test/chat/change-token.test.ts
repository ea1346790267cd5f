import { NatterError } from '@natter/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeToken, encodeToken } from '../../src/chat/change-token.js';
import { ConversationService } from '../../src/chat/conversation-service.js';
import type { GroupCommitter } from '../../src/chat/group-commit.js';
import type { AccountStore } from '../../src/store/account-store.js';
import type { SyncPage } from '../../src/store/log-store.js';
import { fakeLogStore } from '../helpers/fake-log-store.js';

const MAX_POSITION = 999_999_999_999_999; // 15 digits

describe('change tokens', () => {
  it('a resume token and a page token decode to what was encoded', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: MAX_POSITION }),
        fc.integer({ min: 0, max: MAX_POSITION }),
        (position, after) => {
          expect(decodeToken(encodeToken({ listing: false, position, after }))).toEqual({
            listing: false,
            position,
            after,
          });
        },
      ),
    );
  });

  it('a listing page token decodes to its cursor, and no events position', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_POSITION }), (after) => {
        expect(decodeToken(encodeToken({ listing: true, position: 0, after }))).toEqual({
          listing: true,
          position: 0,
          after,
        });
      }),
    );
  });

  it('has one spelling per token: a resume token without a page cursor, and the three forms are distinct', () => {
    expect(encodeToken({ listing: false, position: 42, after: 42 })).toBe('v1.42');
    expect(encodeToken({ listing: false, position: 42, after: 50 })).toBe('v1.42.50');
    expect(encodeToken({ listing: true, position: 0, after: 50 })).toBe('v1l.50');
    expect(decodeToken('v1.42')).toEqual({ listing: false, position: 42, after: 42 });
  });

  it.each([
    '',
    'v1',
    'v1.',
    'v1..5',
    'v2.5',
    'V1.5',
    'v1l',
    'v1l.',
    'v1l.5.6',
    'v1.5.6.7',
    'v1.-5',
    'v1.5e3',
    'v1.0x10',
    'v1. 5',
    ' v1.5',
    'v1.5\n',
    'v1.1234567890123456',
    'v1.5.1234567890123456',
    'v1l.1234567890123456',
    'v1.٣',
  ])('a malformed token %j is bad_request, telling the client to start over', (text) => {
    let thrown: unknown;
    try {
      decodeToken(text);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(NatterError);
    expect(thrown).toMatchObject({ code: 'bad_request', retryable: false });
    expect((thrown as Error).message).toMatch(/without one to start over/);
  });
});

describe('paging a sync with change tokens', () => {
  /** A store whose syncSince answers from a script of pages, recording what it was asked. */
  function scripted(pages: Array<Pick<SyncPage, 'position' | 'hasMore'>>) {
    const asked: Array<{ after: number; eventsSince: number; perConversation: number }> = [];
    const store = fakeLogStore({
      syncSince: async (_userId, after, eventsSince, _limit, perConversation) => {
        asked.push({ after, eventsSince, perConversation });
        const page = pages.shift();
        if (!page) throw new Error('no more pages scripted');
        return { conversations: [], events: [], truncated: [], hidden: [], ...page };
      },
    });
    const service = new ConversationService(store, {} as AccountStore, {} as GroupCommitter, {
      autoCreateUsers: false,
      syncEventsPerConversation: 20,
    });
    return { asked, service };
  }

  it('a resume keeps its events position across pages and moves only the page cursor; the last page gives a plain token', async () => {
    const { asked, service } = scripted([
      { position: 120, hasMore: true },
      { position: 180, hasMore: true },
      { position: 250, hasMore: false },
    ]);
    const first = await service.sync('u1', 'v1.100');
    expect(first).toMatchObject({ token: 'v1.100.120', has_more: true });
    const second = await service.sync('u1', first.token);
    expect(second).toMatchObject({ token: 'v1.100.180', has_more: true });
    const last = await service.sync('u1', second.token);
    expect(last).toMatchObject({ token: 'v1.250', has_more: false });
    expect(asked).toEqual([
      { after: 100, eventsSince: 100, perConversation: 20 },
      { after: 120, eventsSince: 100, perConversation: 20 },
      { after: 180, eventsSince: 100, perConversation: 20 },
    ]);
  });

  it('a sync without a token lists summaries only, in listing pages, and ends with a resume token', async () => {
    const { asked, service } = scripted([
      { position: 30, hasMore: true },
      { position: 90, hasMore: false },
    ]);
    const first = await service.sync('u1', null);
    expect(first).toMatchObject({ token: 'v1l.30', has_more: true });
    const last = await service.sync('u1', first.token);
    expect(last).toMatchObject({ token: 'v1.90', has_more: false });
    expect(asked).toEqual([
      { after: 0, eventsSince: 0, perConversation: 0 },
      { after: 30, eventsSince: 0, perConversation: 0 },
    ]);
  });

  it('a malformed token never reaches the store', async () => {
    const { asked, service } = scripted([]);
    await expect(service.sync('u1', 'v1.banana')).rejects.toMatchObject({ code: 'bad_request' });
    expect(asked).toEqual([]);
  });
});
