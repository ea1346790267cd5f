#!/usr/bin/env node
import { startNatter } from './app.js';
import { describeSettings, loadConfig } from './config.js';

if (process.argv.includes('--help')) {
  console.log('Usage: natter [--flag value ...]\n\nSettings (environment variable, flag, default):');
  for (const s of describeSettings())
    console.log(`  ${s.env.padEnd(38)} ${s.flag.padEnd(36)} ${JSON.stringify(s.default)}`);
  process.exit(0);
}

const natter = await startNatter(loadConfig());

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    natter.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
