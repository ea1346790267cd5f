import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { assertCompiledCurrent, staleSources } from '../packages/server/src/compiled-twin.js';

/**
 * Before any test, in both vitest passes: the code the tests run compiled is rebuilt from the
 * sources. Vitest runs TypeScript sources, but the SQLite writer thread, the node processes the
 * cluster, fault and SIGKILL tests spawn (packages/server/dist/main.js) and the web app the browser
 * tests load (packages/web/dist) are compiled. `tsc -b` is incremental: about a second when nothing
 * changed.
 */

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const at = (path: string) => join(ROOT, path);
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

/** Everything the compiled code runs is reachable from these. */
const COMPILED_ENTRIES = [
  'packages/server/src/main.ts',
  'packages/server/src/index.ts',
  'packages/client/src/index.ts',
];
/** Written last by the web build. */
const WEB_BUNDLE = 'packages/web/dist/index.html';
/** What the web bundle is made of (it imports the SDK and the protocol from their dist/). */
const WEB_INPUTS = [
  'packages/web/src',
  'packages/web/public',
  'packages/web/build.mjs',
  'packages/client/dist',
  'packages/protocol/dist',
];

export default async function buildBeforeTests(): Promise<void> {
  const started = Date.now();
  await buildTypeScript();
  const entries = COMPILED_ENTRIES.map(at);
  // A source saved while tsc ran is older than nothing it built: one more build picks it up.
  if (staleSources(entries).length > 0) await buildTypeScript();
  assertCompiledCurrent(entries);
  if (newestChange(WEB_INPUTS.map(at)) > changedAt(at(WEB_BUNDLE))) {
    await run(process.execPath, [at('packages/web/build.mjs')], { cwd: ROOT });
  }
  console.info(`compiled code is current (checked in ${Date.now() - started} ms)`);
}

async function buildTypeScript(): Promise<void> {
  try {
    await run(process.execPath, [TSC, '-b', 'packages/server', 'packages/client'], { cwd: ROOT });
  } catch (error) {
    // tsc still emits what it can; type errors are the type check's to fail (npm run typecheck).
    const output = (error as { stdout?: string }).stdout ?? String(error);
    console.warn(`\n${'!'.repeat(78)}\n!!! tsc -b reported errors:\n${output}${'!'.repeat(78)}\n`);
  }
}

function changedAt(path: string): number {
  return existsSync(path) ? statSync(path).mtimeMs : 0;
}

/** The latest modification time of any file under `paths` (0 if none exists). */
function newestChange(paths: readonly string[]): number {
  let newest = 0;
  for (const path of paths) {
    if (!existsSync(path)) continue;
    const entry = statSync(path);
    newest = Math.max(newest, entry.mtimeMs);
    if (entry.isDirectory()) {
      newest = Math.max(newest, newestChange(readdirSync(path).map((name) => join(path, name))));
    }
  }
  return newest;
}
