import { z } from 'zod';
import { SearchFrame } from './client-frames.js';
import { MAX_USER_SEARCH_CHARS, MIN_USER_SEARCH_CHARS } from './limits.js';
import { GROUP_MENTION_POLICIES, POSTING_POLICIES, ROLES } from './model.js';

/** Bodies of the HTTP API's requests (JSON). Responses are described in docs/protocol.md. */

const userId = z.string().min(1).max(128);

export const RegisterBody = z.strictObject({
  username: z
    .string()
    .min(3)
    .max(32)
    .regex(/^[a-zA-Z0-9_.-]+$/, 'letters, digits, _ . - only'),
  password: z.string().min(8).max(1024),
  display_name: z.string().min(1).max(64).optional(),
});

export const LoginBody = z.strictObject({
  username: z.string().min(1).max(32),
  password: z.string().min(1).max(1024),
});

export const CreateDirectBody = z.union([
  z.strictObject({ user_id: userId }),
  z.strictObject({ username: z.string().min(1).max(32) }),
]);

/**
 * A new group, or (`kind: 'channel'`) a channel: a very large conversation whose `posting` policy
 * says who may post (default `everyone`; only a channel takes one).
 */
export const CreateGroupBody = z
  .strictObject({
    title: z.string().min(1).max(128),
    member_ids: z.array(userId).max(1000).default([]),
    kind: z.enum(['group', 'channel']).default('group'),
    posting: z.enum(POSTING_POLICIES).optional(),
  })
  .refine((b) => b.kind === 'channel' || b.posting === undefined, {
    message: 'only a channel has a posting policy',
    path: ['posting'],
  });

/** PATCH of a group or channel: its title, who may mention `@all` / `@here`, who may post (channels). */
export const UpdateGroupBody = z
  .strictObject({
    title: z.string().min(1).max(128).optional(),
    group_mentions: z.enum(GROUP_MENTION_POLICIES).optional(),
    posting: z.enum(POSTING_POLICIES).optional(),
  })
  .refine(
    (b) => b.title !== undefined || b.group_mentions !== undefined || b.posting !== undefined,
    'name title, group_mentions or posting',
  );

export const AddMemberBody = z.strictObject({
  user_id: userId,
  role: z.enum(ROLES).exclude(['owner']).default('member'),
});

export const SetRoleBody = z.strictObject({ role: z.enum(ROLES) });

/** Profiles by id (of users you share a conversation with, up to 256) and by username (anyone, up to 32). */
export const LookupUsersBody = z.strictObject({
  user_ids: z.array(userId).max(256).default([]),
  usernames: z.array(z.string().min(1).max(32)).max(32).default([]),
});

/** GET /v1/users/search: `q` is matched as word prefixes against usernames and display names. */
export const UserSearchParams = z.strictObject({
  q: z
    .string()
    .max(MAX_USER_SEARCH_CHARS * 4)
    .transform((s) => s.trim())
    .pipe(
      z
        .string()
        .min(MIN_USER_SEARCH_CHARS, `type at least ${MIN_USER_SEARCH_CHARS} characters`)
        .max(MAX_USER_SEARCH_CHARS),
    ),
});

/** PATCH /v1/me: your display name (null removes it, and others see your username). */
export const UpdateProfileBody = z.strictObject({
  display_name: z
    .string()
    .transform((s) => s.trim())
    .pipe(z.string().min(1).max(64))
    .nullable(),
});

export const HistoryQuery = z.strictObject({
  before_seq: z.coerce.number().int().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(100).optional(),
});

/** Digits: milliseconds since the epoch; anything else is read as an ISO 8601 date-time. */
const instantParam = z
  .string()
  .transform((s) => (/^\d{1,16}$/.test(s) ? Number(s) : s))
  .optional();

/** GET /v1/search: the `search` frame's fields as query parameters (`q` is the query). */
export const SearchParams = z
  .strictObject({
    q: z.string(),
    conversation_id: z.string().optional(),
    sender_id: z.string().optional(),
    after: instantParam,
    before: instantParam,
    limit: z.coerce.number().optional(),
    cursor: z.string().optional(),
  })
  .transform(({ q, ...rest }) => ({ type: 'search' as const, id: 'http', query: q, ...rest }))
  .pipe(SearchFrame);

export type RegisterBody = z.infer<typeof RegisterBody>;
export type LoginBody = z.infer<typeof LoginBody>;
export type CreateDirectBody = z.infer<typeof CreateDirectBody>;
export type CreateGroupBody = z.infer<typeof CreateGroupBody>;
export type AddMemberBody = z.infer<typeof AddMemberBody>;
export type UpdateProfileBody = z.infer<typeof UpdateProfileBody>;
