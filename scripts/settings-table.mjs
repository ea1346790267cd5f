// Rewrites the settings table of docs/operations.md from the server's own list of settings.
// Run after changing packages/server/src/config.ts: `npm run build && npm run docs:settings`.
import { readFileSync, writeFileSync } from 'node:fs';
import { describeSettings } from '../packages/server/dist/config.js';

const file = new URL('../docs/operations.md', import.meta.url);
const rows = describeSettings().map(
  (s) =>
    `| \`${s.env}\` | \`${s.flag}\` | ${s.default === undefined ? 'unset' : `\`${JSON.stringify(s.default)}\``} | ${s.doc} |`,
);
const lines = readFileSync(file, 'utf8').split('\n');
const start = lines.findIndex((line) => line.startsWith('| `PORT` |'));
if (start < 0) throw new Error('docs/operations.md has no settings table starting with PORT');
let end = start;
while (lines[end]?.startsWith('| `') && !lines[end].startsWith('| `natter_')) end++;
lines.splice(start, end - start, ...rows);
writeFileSync(file, lines.join('\n'));
