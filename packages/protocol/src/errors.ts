/**
 * The one error catalogue. Every error Natter sends, over WebSocket or HTTP, carries one of these
 * stable string codes. `retryable` tells a client whether the same request may succeed later
 * unchanged; `status` is the HTTP status; `close` is the WebSocket close code used when the error
 * ends the connection (absent when the error is reported in an `error` frame and the socket stays).
 */
export const ERRORS = {
  bad_request: { status: 400, retryable: false, message: 'The request is malformed or fails validation.' },
  unknown_frame: { status: 400, retryable: false, message: 'Unknown frame type.' },
  unauthenticated: {
    status: 401,
    retryable: false,
    message: 'Authenticate first: send an auth frame (WebSocket) or a bearer token (HTTP).',
  },
  auth_failed: { status: 401, retryable: false, close: 4001, message: 'The token is invalid or unknown.' },
  auth_timeout: {
    status: 408,
    retryable: true,
    close: 4002,
    message: 'No auth frame within the time allowed.',
  },
  token_expired: {
    status: 401,
    retryable: false,
    close: 4003,
    message: 'The token has expired or was revoked; obtain a new one.',
  },
  already_authenticated: {
    status: 400,
    retryable: false,
    message: 'This connection is already authenticated.',
  },
  invalid_credentials: { status: 401, retryable: false, message: 'Wrong username or password.' },
  registration_closed: { status: 403, retryable: false, message: 'Self-service registration is disabled.' },
  username_taken: { status: 409, retryable: false, message: 'That username is taken.' },
  not_found: {
    status: 404,
    retryable: false,
    message:
      'Not found. (A conversation you are not a member of is reported exactly like one that does not exist.)',
  },
  user_not_found: { status: 404, retryable: false, message: 'No such user.' },
  forbidden: {
    status: 403,
    retryable: false,
    message: 'Your role in this conversation does not allow that, or the message is not yours.',
  },
  posting_restricted: {
    status: 403,
    retryable: false,
    message: 'Only the admins and owners of this channel may post in it.',
  },
  body_too_large: {
    status: 413,
    retryable: false,
    message: 'The message body exceeds the configured maximum.',
  },
  attachment_too_large: {
    status: 413,
    retryable: false,
    message: 'The file exceeds the attachment size limit or the size declared for its upload.',
  },
  attachment_type_not_allowed: {
    status: 415,
    retryable: false,
    message: 'Files of this type (as sniffed from their bytes) may not be attached.',
  },
  attachment_quota_exceeded: {
    status: 413,
    retryable: false,
    message: 'Your attachments would exceed your storage quota.',
  },
  frame_too_large: {
    status: 413,
    retryable: false,
    close: 1009,
    message: 'The frame exceeds the configured maximum.',
  },
  rate_limited: { status: 429, retryable: true, message: 'Too many requests; retry after retry_after_ms.' },
  too_many_connections: {
    status: 429,
    retryable: true,
    close: 4004,
    message: 'This user has too many open connections.',
  },
  slow_consumer: {
    status: 503,
    retryable: true,
    close: 4009,
    message: 'The connection could not keep up with its outbound traffic; reconnect and resume.',
  },
  heartbeat_timeout: {
    status: 408,
    retryable: true,
    close: 4008,
    message: 'Nothing was received from the client within the heartbeat timeout.',
  },
  request_timeout: {
    status: 408,
    retryable: true,
    message: 'The HTTP request did not arrive in full within the time allowed; the connection is closed.',
  },
  policy_violation: {
    status: 400,
    retryable: false,
    close: 1008,
    message: 'Too many invalid frames; the connection is closed.',
  },
  server_draining: {
    status: 503,
    retryable: true,
    close: 1012,
    message: 'The server is restarting; reconnect after retry_after_ms.',
  },
  overloaded: {
    status: 503,
    retryable: true,
    close: 1013,
    message: 'The server is shedding load; retry later.',
  },
  search_timeout: {
    status: 503,
    retryable: true,
    message: 'The search took longer than allowed; narrow it (more words, a conversation, a date range).',
  },
  message_rejected: {
    status: 422,
    retryable: false,
    message: "The product's moderation refused this message.",
  },
  moderation_unavailable: {
    status: 503,
    retryable: true,
    message: "The product's moderation did not answer in time; nothing was stored.",
  },
  unavailable: { status: 503, retryable: true, message: 'Storage is temporarily unavailable; retry.' },
  internal: { status: 500, retryable: true, close: 1011, message: 'Internal server error.' },
} as const satisfies Record<string, ErrorSpec>;

interface ErrorSpec {
  readonly status: number;
  readonly retryable: boolean;
  readonly close?: number;
  readonly message: string;
}

export type ErrorCode = keyof typeof ERRORS;

/** A one-line description of a schema violation: the path of the first issue and what is wrong. */
export function describeInvalid(
  issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>,
  what: string,
): string {
  const issue = issues[0];
  return `${issue?.path.map(String).join('.') || what}: ${issue?.message ?? 'invalid'}`;
}

export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];

/** The WebSocket close code an error ends a connection with, if it is one that does. */
export function closeCodeOf(code: ErrorCode): number | undefined {
  const spec: ErrorSpec = ERRORS[code];
  return spec.close;
}

/** The error class used on both sides of the wire. `retryAfterMs` accompanies `rate_limited`, `server_draining`. */
export class NatterError extends Error {
  readonly code: ErrorCode;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message?: string, options?: { retryAfterMs?: number; cause?: unknown }) {
    super(message ?? ERRORS[code].message, { cause: options?.cause });
    this.name = 'NatterError';
    this.code = code;
    this.retryAfterMs = options?.retryAfterMs;
  }

  get retryable(): boolean {
    return ERRORS[this.code].retryable;
  }

  get status(): number {
    return ERRORS[this.code].status;
  }
}

/** Turns anything thrown into a NatterError; unknown failures become `internal` with the cause kept. */
export function toNatterError(thrown: unknown): NatterError {
  if (thrown instanceof NatterError) return thrown;
  return new NatterError('internal', undefined, { cause: thrown });
}
