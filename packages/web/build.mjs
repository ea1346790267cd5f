// Bundles the web app into dist/ for the server to serve (packages/server/src/http/web-assets.ts):
//   assets/   the app's script and style sheet, named by content hash: cached forever by browsers
//   index.html, sw.js, icon.svg, manifest.webmanifest: fixed names, revalidated on every load
// Every text file gets a brotli (.br) and a gzip (.gz) twin, compressed once here at the highest
// levels, so the server never compresses per request. Source maps are written (external: no
// sourceMappingURL comment) and served only when NATTER_WEB_SOURCE_MAPS is on.
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { emojiPickerData } from './emoji-data.mjs';

const root = new URL('.', import.meta.url).pathname;
const out = `${root}dist`;
const COMPRESSED_TYPES = new Set(['.html', '.js', '.css', '.svg', '.webmanifest', '.json']);

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
cpSync(`${root}public`, out, {
  recursive: true,
  filter: (path) => !path.endsWith('.css') && relative(`${root}public`, path) !== 'index.html',
});

const common = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: 'external',
  jsx: 'automatic',
  // The app is written against React's API and runs on Preact's compatibility layer: the same
  // components in ~5 KB of runtime instead of react-dom's ~45 KB (compressed), which is most of the
  // login screen's first-load budget (docs/benchmarks.md section 6).
  alias: { react: 'preact/compat', 'react-dom': 'preact/compat' },
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
};

// The emoji picker's data: a hashed asset like the scripts, fetched when the picker first opens.
const emojiJson = JSON.stringify(emojiPickerData());
const emojiData = `/assets/emoji-${createHash('sha256').update(emojiJson).digest('hex').slice(0, 8)}.json`;
mkdirSync(`${out}/assets`, { recursive: true });
writeFileSync(`${out}${emojiData}`, emojiJson);

const app = await build({
  ...common,
  define: { ...common.define, EMOJI_DATA_URL: JSON.stringify(emojiData) },
  entryPoints: { app: `${root}src/main.tsx`, style: `${root}public/app.css` },
  outdir: `${out}/assets`,
  entryNames: '[name]-[hash]',
  // The signed-in screens are a dynamic import (components/app.tsx): their own chunk, plus chunks
  // of what they share with the login screen.
  splitting: true,
  chunkNames: 'chunk-[hash]',
  metafile: true,
});
// theme: a tiny classic script index.html runs before the first paint (src/theme-boot.ts), built on
// its own so it stays one self-contained file (the app's build splits shared code into chunks).
const theme = await build({
  ...common,
  format: 'iife',
  entryPoints: { theme: `${root}src/theme-boot.ts` },
  outdir: `${out}/assets`,
  entryNames: '[name]-[hash]',
  metafile: true,
});
const themeScript = Object.keys(theme.metafile.outputs).find((path) => path.endsWith('.js'));
const assets = [...Object.keys(app.metafile.outputs), themeScript]
  .filter((path) => !path.endsWith('.map'))
  .map((path) => `/${relative(out, path)}`)
  .concat(emojiData);
const entryOf = (name) => {
  const [path] = Object.entries(app.metafile.outputs).find(([, output]) => output.entryPoint?.endsWith(name));
  return path;
};
const appScript = entryOf('src/main.tsx');
// The chunks the entry imports statically are announced in the page, so the browser fetches them
// alongside the entry instead of a round trip later (a round trip is ~0.56 s on slow 4G).
const preloads = app.metafile.outputs[appScript].imports
  .filter((imported) => imported.kind === 'import-statement')
  .map((imported) => `    <link rel="modulepreload" href="/${relative(out, imported.path)}" />`);

writeFileSync(
  `${out}/index.html`,
  readFileSync(`${root}public/index.html`, 'utf8')
    .replace('/app.css', `/${relative(out, entryOf('public/app.css'))}`)
    .replace('/theme.js', `/${relative(out, themeScript)}`)
    .replace('/app.js', `/${relative(out, appScript)}`)
    .replace('    <!-- modulepreload -->', preloads.join('\n')),
);

// The service worker keeps this build's shell for offline starts; listing it changes sw.js with every
// build, which is what makes browsers install the new worker.
await build({
  ...common,
  entryPoints: { sw: `${root}src/service-worker.ts` },
  outdir: out,
  define: {
    ...common.define,
    SHELL_FILES: JSON.stringify(['/', ...assets, '/icon.svg', '/manifest.webmanifest']),
  },
});

for (const path of filesUnder(out)) {
  if (!COMPRESSED_TYPES.has(extname(path))) continue;
  const body = readFileSync(path);
  const brotli = brotliCompressSync(body, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length },
  });
  // A twin no smaller than the file (a tiny icon) is not worth a request header's negotiation.
  if (brotli.length < body.length) writeFileSync(`${path}.br`, brotli);
  const gzip = gzipSync(body, { level: 9 });
  if (gzip.length < body.length) writeFileSync(`${path}.gz`, gzip);
}

function filesUnder(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}
