import { NatterError } from '@natter/protocol';
import postgres from 'postgres';

/** Errors the driver raises itself when a connection cannot be made or is lost. */
const DRIVER_CONNECTION_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * Server errors after which the same request may succeed unchanged: connection exceptions (08),
 * serialization failures and deadlocks (40001, 40P01), insufficient resources (53), a lock or
 * statement timeout (55P03, 57014), the connection terminated, the server shutting down or
 * starting up (57P), and a read-only server (25006: a failover in progress).
 */
function isTransientServerError(code: string): boolean {
  return (
    code.startsWith('08') ||
    code.startsWith('53') ||
    code.startsWith('57P') ||
    ['40001', '40P01', '55P03', '57014', '25006'].includes(code)
  );
}

/** True when the database could not be reached or the connection broke: the outcome is unknown. */
export function isConnectionFailure(error: unknown): boolean {
  if (error instanceof postgres.PostgresError)
    return error.code.startsWith('08') || error.code.startsWith('57P');
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && DRIVER_CONNECTION_CODES.has(code);
}

/**
 * What a caller hears when a store call fails: a retryable `unavailable` when trying again may
 * work (the connection is back, the conflict is gone), else the error itself. A commit that fails
 * this way may or may not have committed (the connection can break after COMMIT was sent), so it
 * is reported, never retried here: a client's retry is safe for appends, which are idempotent on
 * their client message id.
 */
export function toStoreError(error: unknown): unknown {
  if (error instanceof NatterError) return error;
  const transient =
    error instanceof postgres.PostgresError ? isTransientServerError(error.code) : isConnectionFailure(error);
  return transient ? new NatterError('unavailable', undefined, { cause: error }) : error;
}

/**
 * The error one op of a batch gets when the database refused its statements (its savepoint was
 * rolled back and the rest of the batch carries on): data PostgreSQL cannot store (a NUL character
 * in a body) is the client's `bad_request`; a transient conflict is retryable `unavailable`.
 */
export function opErrorOf(error: postgres.PostgresError): NatterError {
  if (error.code.startsWith('22')) {
    return new NatterError('bad_request', 'The request holds data the store cannot (a NUL character, say).', {
      cause: error,
    });
  }
  if (isTransientServerError(error.code)) return new NatterError('unavailable', undefined, { cause: error });
  return new NatterError('internal', undefined, { cause: error });
}
