// A tiny TCP round-robin load balancer, enough to put several Natter nodes behind one port on a
// development machine. It works below HTTP, so WebSocket upgrades (and everything else) pass
// through untouched; a backend that refuses the connection is skipped for the next one.
// Usage: node scripts/tcp-balancer.mjs 8080 127.0.0.1:8081 127.0.0.1:8082 ...
import { connect, createServer } from 'node:net';
import { pathToFileURL } from 'node:url';

/**
 * Listens on `port` and hands each accepted connection to the next backend in turn.
 * Resolves to the listening server once it listens.
 */
export function startBalancer({ port, host = '0.0.0.0', backends, log = () => {} }) {
  if (backends.length === 0) throw new Error('The balancer needs at least one backend.');
  let next = 0;
  const server = createServer((client) => {
    client.pause();
    let upstream;
    // Either side going away (a node draining, a client leaving) closes the other.
    client.on('error', () => upstream?.destroy());
    client.on('close', () => upstream?.destroy());
    const tryBackend = (attempt) => {
      if (client.destroyed) return;
      if (attempt >= backends.length) {
        log(`no backend took the connection from ${client.remoteAddress}`);
        client.destroy();
        return;
      }
      const backend = backends[next];
      next = (next + 1) % backends.length;
      let connected = false;
      upstream = connect(backend.port, backend.host);
      upstream.once('connect', () => {
        connected = true;
        upstream.setNoDelay(true);
        client.setNoDelay(true);
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
        upstream.on('close', () => client.destroy());
      });
      upstream.on('error', (error) => {
        if (connected) {
          client.destroy();
          return;
        }
        log(`backend ${backend.host}:${backend.port} refused (${error.code}); trying the next`);
        tryBackend(attempt + 1);
      });
    };
    tryBackend(0);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [port, ...targets] = process.argv.slice(2);
  const backends = targets.map((target) => {
    const [host, backendPort] = target.split(':');
    return { host, port: Number(backendPort) };
  });
  await startBalancer({ port: Number(port), backends, log: (line) => console.error(`[balancer] ${line}`) });
  console.error(`[balancer] :${port} -> ${targets.join(', ')}`);
}
