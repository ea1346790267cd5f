import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Code run from TypeScript sources (the test runner) still starts some code compiled: a worker
 * thread or a child process runs JavaScript from dist/. A test must never pass on old code, so
 * those places check here first and refuse with `dist is older than src`. The test run builds
 * dist before any test (test/global-setup.ts), so the check only fires when that was skipped or a
 * source changed during the run.
 */

/** `<package>/src/a/b.ts` -> `<package>/dist/a/b.js`. */
export function compiledTwin(sourcePath: string): string {
  const at = sourcePath.lastIndexOf(`${sep}src${sep}`);
  if (at < 0 || !sourcePath.endsWith('.ts')) throw new Error(`${sourcePath} is not a source under src/`);
  return `${sourcePath.slice(0, at)}${sep}dist${sep}${sourcePath.slice(at + 5, -3)}.js`;
}

/**
 * The sources reachable from `entries` (by relative imports, `new URL('./x.js', import.meta.url)`,
 * and `@natter/<name>` as `<packages>/<name>/src/index.ts`) whose compiled twin is missing, or
 * older than the source while the package's last build (its tsconfig.tsbuildinfo) is older too:
 * `tsc -b` rewrites only outputs whose text changed, so a source touched without a change keeps
 * its old twin, and the build info is what says the build saw it.
 */
export function staleSources(entries: readonly string[]): string[] {
  const seen = new Set<string>();
  const pending = [...entries];
  const stale: string[] = [];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    if (isStale(file)) stale.push(file);
    pending.push(...referencedSources(file));
  }
  return stale.sort();
}

/** Throws `dist is older than src` naming the stale sources, if any (see staleSources). */
export function assertCompiledCurrent(entries: readonly string[]): void {
  const stale = staleSources(entries);
  if (stale.length === 0) return;
  const shown = stale.slice(0, 5).map((file) => relative(process.cwd(), file));
  const more = stale.length > shown.length ? ` and ${stale.length - shown.length} more` : '';
  throw new Error(
    `dist is older than src: run npm run build (${shown.join(', ')}${more} changed since the last build)`,
  );
}

function isStale(source: string): boolean {
  const twin = compiledTwin(source);
  if (!existsSync(twin)) return true;
  const changed = statSync(source).mtimeMs;
  if (statSync(twin).mtimeMs >= changed) return false;
  const buildInfo = join(packageDir(source), 'tsconfig.tsbuildinfo');
  return !existsSync(buildInfo) || statSync(buildInfo).mtimeMs < changed;
}

function packageDir(source: string): string {
  return source.slice(0, source.lastIndexOf(`${sep}src${sep}`));
}

const REFERENCE =
  /\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(?\s*['"]([^'"]+)['"]|new URL\(\s*['"](\.[^'"]+)['"]\s*,\s*import\.meta\.url/g;

function referencedSources(file: string): string[] {
  const out: string[] = [];
  for (const match of readFileSync(file, 'utf8').matchAll(REFERENCE)) {
    const specifier = match[1] ?? match[2] ?? match[3] ?? '';
    if (specifier.startsWith('.') && specifier.endsWith('.js')) {
      out.push(resolve(dirname(file), `${specifier.slice(0, -3)}.ts`));
    } else if (/^@natter\/[a-z-]+$/.test(specifier)) {
      const name = specifier.slice('@natter/'.length);
      out.push(join(dirname(packageDir(file)), name, 'src', 'index.ts'));
    }
  }
  return out;
}

/**
 * The script a worker thread runs, given as `new URL('./x.js', import.meta.url)` at the call site
 * (so staleSources follows it): that file when running compiled, else the compiled twin of `x.ts`,
 * refused with `dist is older than src` if it is older than the sources it would run.
 */
export function workerScript(beside: URL): URL {
  const path = fileURLToPath(beside);
  if (existsSync(path)) return beside;
  const source = `${path.slice(0, -'.js'.length)}.ts`;
  assertCompiledCurrent([source]);
  return pathToFileURL(compiledTwin(source));
}
