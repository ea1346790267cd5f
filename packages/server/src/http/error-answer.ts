import { STATUS_CODES } from 'node:http';
import type { NatterError } from '@natter/protocol';

/** The JSON body of every HTTP error (docs/protocol.md §11): code, message, retryable, retry_after_ms. */
export function errorBody(error: NatterError) {
  return {
    error: {
      code: error.code,
      message: error.message,
      retryable: error.retryable,
      ...(error.retryAfterMs === undefined ? {} : { retry_after_ms: error.retryAfterMs }),
    },
  };
}

/** The Retry-After header (whole seconds, rounded up) that accompanies `retry_after_ms`. */
export function retryAfterSeconds(error: NatterError): number | undefined {
  return error.retryAfterMs === undefined ? undefined : Math.ceil(error.retryAfterMs / 1000);
}

/**
 * A whole HTTP/1.1 error answer, for the sockets that never reach Fastify (a refused connection,
 * a request the parser rejects or that timed out). It always closes the connection.
 */
export function rawErrorAnswer(error: NatterError): string {
  const body = JSON.stringify(errorBody(error));
  const retryAfter = retryAfterSeconds(error);
  return [
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ''}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...(retryAfter === undefined ? [] : [`Retry-After: ${retryAfter}`]),
    '',
    body,
  ].join('\r\n');
}
