import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as protocolPackage from '@natter/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import * as clientSources from '../../../client/src/index.js';
import * as protocolSources from '../../../protocol/src/index.js';
import { assertCompiledCurrent, compiledTwin, staleSources } from '../../src/compiled-twin.js';

const root = mkdtempSync(join(tmpdir(), 'natter-twin-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Writes `path` (under root) with its modification time `at` seconds after the epoch. */
function file(path: string, text: string, at: number): string {
  const full = join(root, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, text);
  utimesSync(full, at, at);
  return full;
}

/**
 * Two packages as in the repository: server's entry imports a sibling, names a worker by URL and
 * imports @natter/protocol, whose index imports a sibling. Everything was built at t=200.
 */
function workspace(name: string) {
  const at = (path: string) => `${name}/packages/${path}`;
  const sources = {
    entry: file(
      at('server/src/entry.ts'),
      "import { b } from './b.js';\nimport { P } from '@natter/protocol';\nconst w = new URL('./worker.js', import.meta.url);\n",
      100,
    ),
    b: file(at('server/src/b.ts'), 'export const b = 1;\n', 100),
    worker: file(at('server/src/worker.ts'), "import '../../protocol/src/never.js';\n", 100),
    unrelated: file(at('server/src/unrelated.ts'), 'export const u = 1;\n', 300),
    index: file(at('protocol/src/index.ts'), "export { P } from './frames.js';\n", 100),
    frames: file(at('protocol/src/frames.ts'), 'export const P = 1;\n', 100),
  };
  for (const source of Object.values(sources)) file(compiledTwin(source).slice(root.length), '', 200);
  file(at('server/tsconfig.tsbuildinfo'), '{}', 200);
  file(at('protocol/tsconfig.tsbuildinfo'), '{}', 200);
  return sources;
}

describe('staleSources: compiled code older than the sources it was built from', () => {
  it('maps a source to its twin in dist/', () => {
    expect(compiledTwin('/r/packages/server/src/store/sqlite/w.ts')).toBe(
      '/r/packages/server/dist/store/sqlite/w.js',
    );
    expect(() => compiledTwin('/r/packages/server/lib/w.ts')).toThrow(/not a source under src/);
  });

  it('finds nothing stale right after a build, and ignores sources the entries never reach', () => {
    const w = workspace('fresh');
    expect(staleSources([w.entry])).toEqual([]);
    expect(() => assertCompiledCurrent([w.entry])).not.toThrow();
  });

  it('reports a source changed after the build, through imports, worker URLs and @natter packages', () => {
    const w = workspace('changed');
    file(w.frames.slice(root.length), 'export const P = 2;\n', 300);
    file(w.worker.slice(root.length), "import '../../protocol/src/never.js';\nthrow 1;\n", 300);
    expect(staleSources([w.entry])).toEqual([w.frames, w.worker].sort());
    expect(() => assertCompiledCurrent([w.entry])).toThrow(/dist is older than src: run npm run build/);
  });

  it('reports a source whose twin is missing', () => {
    const w = workspace('missing');
    rmSync(compiledTwin(w.b));
    expect(staleSources([w.entry])).toEqual([w.b]);
  });

  it('accepts a source touched without a change once a later build saw it (tsc -b keeps the old twin)', () => {
    const w = workspace('touched');
    file(w.b.slice(root.length), 'export const b = 1;\n', 300);
    expect(staleSources([w.entry])).toEqual([w.b]);
    file(`touched/packages/server/tsconfig.tsbuildinfo`, '{}', 400);
    expect(staleSources([w.entry])).toEqual([]);
  });
});

describe('tests run the workspace packages from their sources', () => {
  it('imports @natter/protocol as packages/protocol/src, not its dist/ (one module, one NatterError)', async () => {
    expect(protocolPackage.NatterError).toBe(protocolSources.NatterError);
    const clientPackage = await import('@natter/client');
    expect(clientPackage.NatterClient).toBe(clientSources.NatterClient);
  });
});
