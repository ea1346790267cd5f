import { maxHeaderSize, type Server, type ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import { type ErrorCode, NatterError } from '@natter/protocol';
import type { ConnectionError } from 'fastify';
import type { TrustedProxy } from '../limits/client-address.js';
import type { Metrics } from '../metrics.js';
import { rawErrorAnswer } from './error-answer.js';

/** How long a client may take to send a request, and how many connections one address may hold. */
export interface ConnectionLimits {
  httpHeadersTimeoutMs: number;
  httpRequestTimeoutMs: number;
  maxHttpConnectionsPerIp: number;
}

/**
 * Fastify's options for the connection below the routes. Fastify 5 turns Node's request timeout off
 * (0), so a client sending a body one byte at a time held its connection forever. Both timeouts
 * count from the first byte of a request (or from the connection's opening), and stop once it has
 * all arrived: a slow handler, an idle keep-alive connection (closed after Fastify's 72 s
 * keepAliveTimeout) and an upgraded WebSocket are not cut. Node checks them every
 * `connectionsCheckingInterval` (30 s by default), so a timeout fires up to that much late.
 */
export function connectionOptions(limits: ConnectionLimits, metrics: Metrics) {
  const http: ServerOptions = {
    headersTimeout: limits.httpHeadersTimeoutMs,
    requestTimeout: limits.httpRequestTimeoutMs,
    connectionsCheckingInterval: Math.ceil(Math.min(1_000, limits.httpHeadersTimeoutMs / 4)),
  };
  return {
    http,
    requestTimeout: limits.httpRequestTimeoutMs,
    clientErrorHandler: (error: ConnectionError, socket: Socket) => answerClientError(error, socket, metrics),
  };
}

/** A catalogue error with its whole HTTP answer, written once: refusals must stay cheap. */
function prepared(error: NatterError): { code: ErrorCode; text: string } {
  return { code: error.code, text: rawErrorAnswer(error) };
}

const REQUEST_TIMEOUT = prepared(new NatterError('request_timeout'));
const HEADERS_TOO_LARGE = prepared(
  new NatterError('bad_request', `The request line and headers exceed ${maxHeaderSize / 1024} KiB.`),
);
const NOT_HTTP = prepared(new NatterError('bad_request', 'The request is not valid HTTP/1.1.'));

/** Node's HTTP parser refused the request or it timed out: answer from the catalogue, then close. */
function answerClientError(error: ConnectionError, socket: Socket, metrics: Metrics): void {
  // Nobody is left to read an answer (Fastify's own handler skips these too).
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const answer =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? REQUEST_TIMEOUT
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? HEADERS_TOO_LARGE
        : NOT_HTTP;
  metrics.errors.inc({ code: answer.code });
  if (socket.writable) socket.write(answer.text);
  socket.destroy();
}

/** Long enough for one of the address's requests to finish and free a slot. */
const REFUSED = prepared(
  new NatterError('rate_limited', 'Too many open connections from this address.', { retryAfterMs: 1_000 }),
);

/**
 * Caps the connections one peer address holds open at once, so that one host holding sockets
 * (slow requests, idle keep-alives) cannot starve the others. The connection over the cap is
 * answered `rate_limited` (429) and closed before any of its bytes are parsed; a client that has
 * already sent its request may see the close as a reset instead. A socket stops counting when it
 * closes or is upgraded to a WebSocket (the gateway's own limits govern it from there).
 *
 * The raw socket knows only its peer: behind a trusted proxy (NATTER_TRUST_PROXY) every client
 * shares the proxy's address and X-Forwarded-For has not been read yet, so a trusted proxy is
 * exempt, and capping connections per client is the proxy's job.
 */
export function capConnectionsPerAddress(
  server: Server,
  maxPerAddress: number,
  trust: TrustedProxy,
  metrics: Metrics,
): void {
  const openByAddress = new Map<string, number>();
  const addressOf = new Map<Socket, string>();
  const release = (socket: Socket) => {
    const address = addressOf.get(socket);
    if (address === undefined) return;
    addressOf.delete(socket);
    const open = (openByAddress.get(address) ?? 1) - 1;
    if (open === 0) openByAddress.delete(address);
    else openByAddress.set(address, open);
  };

  // Ahead of Node's own listener, which would start parsing the request.
  server.prependListener('connection', (socket: Socket) => {
    const address = socket.remoteAddress;
    if (address === undefined) {
      socket.destroy();
      return;
    }
    if (trust(address, 0)) return;
    const open = openByAddress.get(address) ?? 0;
    if (open >= maxPerAddress) {
      metrics.errors.inc({ code: REFUSED.code });
      socket.end(REFUSED.text);
      socket.destroy();
      return;
    }
    openByAddress.set(address, open + 1);
    addressOf.set(socket, address);
    socket.once('close', () => release(socket));
  });
  server.prependListener('upgrade', (_request, socket: Socket) => release(socket));
}

/**
 * An upgrade the gateway refuses (404, 403, 503) gets a plain HTTP answer and its socket ended, but
 * the server keeps half-open sockets: a client that never closes its side held the socket for good,
 * past every timeout and, having been upgraded, outside the cap above. Such a socket is closed once
 * the answer is out, as ws does with the handshakes it aborts. A socket ws took is left alone.
 */
export function closeRefusedUpgrades(server: Server): void {
  server.on('upgrade', (_request, socket: Socket) => {
    // Once every 'upgrade' listener, the gateway's included, has run.
    queueMicrotask(() => {
      if (socket.writableFinished) socket.destroy();
      else if (socket.writableEnded) socket.once('finish', () => socket.destroy());
    });
  });
}
