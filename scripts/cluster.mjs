// `npm run cluster`: three Natter nodes on this machine behind a round-robin TCP balancer on :8080,
// sharing a local PostgreSQL (database `natter`, created if missing) and Redis. For trying the
// cluster and for demos, not for production (docs/operations.md describes a production layout).
// Overrides: PORT (balancer), NATTER_CLUSTER_NODES, DATABASE_URL, REDIS_URL, and any NATTER_*
// setting, which every node inherits.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { startBalancer } from './tcp-balancer.mjs';

const MAIN_JS = fileURLToPath(new URL('../packages/server/dist/main.js', import.meta.url));
const port = Number(process.env.PORT ?? 8080);
const nodeCount = Number(process.env.NATTER_CLUSTER_NODES ?? 3);
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/natter';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

await createDatabaseIfMissing(databaseUrl);

const nodes = [];
for (let i = 1; i <= nodeCount; i++) {
  const nodePort = port + i;
  const nodeId = `node-${i}`;
  const child = spawn(process.execPath, ['--max-semi-space-size=32', MAIN_JS], {
    env: {
      ...process.env,
      PORT: String(nodePort),
      NATTER_HOST: '127.0.0.1',
      NATTER_NODE_ID: nodeId,
      NATTER_STORE: 'postgres',
      DATABASE_URL: databaseUrl,
      NATTER_CLUSTER: 'redis',
      REDIS_URL: redisUrl,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => console.log(`[${nodeId}] ${line}`));
  }
  child.once('exit', (code, signal) => {
    console.log(`[${nodeId}] exited (code ${code}, signal ${signal})`);
    if (!stopping) stop(1);
  });
  nodes.push({ child, port: nodePort });
}

// The nodes migrate the schema at once (they take turns on an advisory lock); the balancer skips a
// node that does not listen yet, so it can start now.
const balancer = await startBalancer({
  port,
  backends: nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
  log: (line) => console.log(`[balancer] ${line}`),
});
console.log(
  `[balancer] http://127.0.0.1:${port} (WebSocket ws://127.0.0.1:${port}/ws) -> ${nodes.map((n) => n.port).join(', ')}`,
);

let stopping = false;
/** Drains every node (SIGTERM), then exits. */
function stop(code) {
  if (stopping) return;
  stopping = true;
  balancer.close();
  const exits = nodes.map(
    ({ child }) =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once('exit', resolve).kill('SIGTERM');
      }),
  );
  void Promise.all(exits).then(() => process.exit(code));
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

async function createDatabaseIfMissing(url) {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {} });
  try {
    const [found] = await sql`SELECT 1 AS found FROM pg_database WHERE datname = ${name}`;
    if (!found) {
      await sql.unsafe(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
      console.log(`[cluster] created database ${name}`);
    }
  } finally {
    await sql.end();
  }
}
