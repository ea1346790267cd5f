import { describe, expect, it } from 'vitest';
import {
  filterCandidates,
  highlightMentions,
  insertMention,
  type MentionCandidate,
  mentionQueryAt,
  mentionsInText,
} from '../src/mentions.js';
import { parseMessage } from '../src/message-markup.js';

const alice: MentionCandidate = { id: 'u_alice', handle: 'alice', name: 'Alice Smith' };
const albert: MentionCandidate = { id: 'u_albert', handle: 'bert.a', name: 'Albert Jones' };
const bob: MentionCandidate = { id: 'u_bob', handle: 'bob', name: 'Bob' };
const all: MentionCandidate = { id: '@all', handle: 'all', name: 'Everyone in the group' };
const people = [alice, albert, bob, all];

describe('the "@query" before the caret', () => {
  it('is found after the start, a space or an opening bracket', () => {
    expect(mentionQueryAt('@', 1)).toEqual({ start: 0, query: '' });
    expect(mentionQueryAt('hi @al', 6)).toEqual({ start: 3, query: 'al' });
    expect(mentionQueryAt('(@bo', 4)).toEqual({ start: 1, query: 'bo' });
    expect(mentionQueryAt('hi @bert.a', 10)).toEqual({ start: 3, query: 'bert.a' });
  });

  it('is not an e-mail address, nor a word already left behind', () => {
    expect(mentionQueryAt('mail me@example', 15)).toBeNull();
    expect(mentionQueryAt('hi @al and', 10)).toBeNull();
    expect(mentionQueryAt('no at here', 10)).toBeNull();
  });

  it('only counts what is before the caret', () => {
    expect(mentionQueryAt('hi @alice, you', 6)).toEqual({ start: 3, query: 'al' });
  });
});

describe('filtering the candidates', () => {
  it('offers everyone for a bare "@", in list order', () => {
    expect(filterCandidates(people, '')).toEqual(people);
  });

  it('ranks handles that start with the query, then name words, then anything containing it', () => {
    expect(filterCandidates(people, 'al')).toEqual([alice, all, albert]);
    expect(filterCandidates(people, 'jon')).toEqual([albert]);
    expect(filterCandidates(people, 'ob')).toEqual([bob]);
  });

  it('ignores case and caps the list', () => {
    expect(filterCandidates(people, 'BO')).toEqual([bob]);
    expect(filterCandidates(people, '', 2)).toEqual([alice, albert]);
    expect(filterCandidates(people, 'zed')).toEqual([]);
  });
});

describe('inserting a mention', () => {
  it('replaces the query with "@handle " and puts the caret after it', () => {
    expect(insertMention('hi @al', 3, 6, 'alice')).toEqual({ text: 'hi @alice ', caret: 10 });
    expect(insertMention('hi @al how are you', 3, 6, 'alice')).toEqual({
      text: 'hi @alice how are you',
      caret: 10,
    });
  });
});

describe('the mentions still in the text at send time', () => {
  it('keeps the picked ones whose "@handle" is still there, once each', () => {
    expect(mentionsInText('@alice and @bob, see @alice', [alice, bob, alice])).toEqual(['u_alice', 'u_bob']);
    expect(mentionsInText('@bob only', [alice, bob])).toEqual(['u_bob']);
    expect(mentionsInText('thanks @all!', [all])).toEqual(['@all']);
  });

  it('does not take a longer name or an e-mail address for a handle', () => {
    expect(mentionsInText('@bobby is here', [bob])).toEqual([]);
    expect(mentionsInText('write to me@bob.example', [bob])).toEqual([]);
    expect(mentionsInText('ask @bob.', [bob])).toEqual(['u_bob']);
    expect(mentionsInText('ask @bert.a about it', [albert])).toEqual(['u_albert']);
  });
});

describe('highlighting the mentions in a message', () => {
  const handles = [
    { handle: 'alice', me: true },
    { handle: 'bob', me: false },
  ];

  it('turns each mentioned "@handle" into a mention node, the reader\'s own marked', () => {
    const [block] = highlightMentions(parseMessage('hey @Alice and @bob!').blocks, handles);
    expect(block).toEqual({
      kind: 'paragraph',
      children: [
        { kind: 'text', text: 'hey ' },
        { kind: 'mention', text: '@Alice', me: true },
        { kind: 'text', text: ' and ' },
        { kind: 'mention', text: '@bob', me: false },
        { kind: 'text', text: '!' },
      ],
    });
  });

  it('looks inside bold and italic, never inside code or links, and leaves unmentioned names alone', () => {
    const [block] = highlightMentions(
      parseMessage('*@bob* `@bob` @carol [@bob](https://example.com)').blocks,
      handles,
    );
    expect(block).toEqual({
      kind: 'paragraph',
      children: [
        { kind: 'bold', children: [{ kind: 'mention', text: '@bob', me: false }] },
        { kind: 'text', text: ' ' },
        { kind: 'code', text: '@bob' },
        { kind: 'text', text: ' @carol ' },
        { kind: 'link', href: 'https://example.com', text: '@bob' },
      ],
    });
  });

  it('changes nothing when the message mentions nobody', () => {
    const { blocks } = parseMessage('mail @alice');
    expect(highlightMentions(blocks, [])).toBe(blocks);
  });
});
