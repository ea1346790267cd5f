import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';

/** Decides whether the hop at `address` (i = 0 is the socket peer) is a proxy we believe. */
export type TrustedProxy = (address: string, hop: number) => boolean;

/**
 * The proxies named by NATTER_TRUST_PROXY. Fastify computes `request.ip` with this same function, so
 * HTTP routes and the WebSocket upgrade key their per-IP limits on the same client address.
 */
export function trustedProxies(list: readonly string[]): TrustedProxy {
  return list.length === 0 ? () => false : proxyAddr.compile([...list]);
}

/**
 * The client's address: the socket peer, or, when the peer is a trusted proxy, the nearest
 * X-Forwarded-For entry that is not one. Never throws; an address-less socket (already closed)
 * yields 'unknown'.
 */
export function clientAddressOf(request: IncomingMessage, trust: TrustedProxy): string {
  if (request.socket.remoteAddress === undefined) return 'unknown';
  const chain = proxyAddr.all(request, trust);
  return chain[chain.length - 1] ?? 'unknown';
}
