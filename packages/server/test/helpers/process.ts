import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { assertCompiledCurrent, compiledTwin } from '../../src/compiled-twin.js';
import { freePort } from './free-port.js';
import { JWT_SECRET } from './server.js';

export { freePort };

/** The repository root (this file is packages/server/test/helpers/process.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const MAIN_TS = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
/** The compiled server the child-process tests run; the test run builds it first (test/global-setup.ts). */
export const MAIN_JS = compiledTwin(MAIN_TS);

export interface ChildServer {
  proc: ChildProcess;
  port: number;
  httpUrl: string;
  wsUrl: string;
  /** Every stdout/stderr line so far. */
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `node packages/server/dist/main.js` and waits for its `"msg":"listening"` log line. */
export async function spawnServer(
  dataDir: string,
  extraEnv: Record<string, string> = {},
  timeoutMs = 15_000,
): Promise<ChildServer> {
  // A source changed since the build would make this test pass or fail on old code.
  assertCompiledCurrent([MAIN_TS]);
  const port = await freePort();
  const proc = spawn(process.execPath, [MAIN_JS], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      NATTER_DATA_DIR: dataDir,
      NATTER_JWT_SECRET: JWT_SECRET,
      NATTER_HOST: '127.0.0.1',
      NATTER_LOG_LEVEL: 'info',
      NATTER_PASSWORD_HASH_COST: '10',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const listening = new Promise<number>((resolve, reject) => {
    let buffered = { out: '', err: '' };
    const onData = (which: 'out' | 'err') => (chunk: Buffer) => {
      buffered = { ...buffered, [which]: buffered[which] + chunk.toString() };
      let nl = buffered[which].indexOf('\n');
      while (nl >= 0) {
        const line = buffered[which].slice(0, nl);
        buffered = { ...buffered, [which]: buffered[which].slice(nl + 1) };
        lines.push(line);
        if (line.includes('"msg":"listening"')) {
          try {
            const parsed = JSON.parse(line) as { port?: number };
            resolve(parsed.port ?? port);
          } catch {
            resolve(port);
          }
        }
        nl = buffered[which].indexOf('\n');
      }
    };
    proc.stdout?.on('data', onData('out'));
    proc.stderr?.on('data', onData('err'));
    void exited.then(({ code, signal }) =>
      reject(
        new Error(`server exited early (code ${code}, signal ${signal}):\n${lines.slice(-20).join('\n')}`),
      ),
    );
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(
        new Error(`server did not log "listening" within ${timeoutMs} ms:\n${lines.slice(-20).join('\n')}`),
      );
    }, timeoutMs);
  });
  let actualPort: number;
  try {
    actualPort = await Promise.race([listening, timeout]);
  } finally {
    clearTimeout(timer);
  }
  return {
    proc,
    port: actualPort,
    httpUrl: `http://127.0.0.1:${actualPort}`,
    wsUrl: `ws://127.0.0.1:${actualPort}/ws`,
    lines,
    exited,
    async kill(signal) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}
