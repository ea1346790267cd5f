#!/usr/bin/env node
import { startNatter } from './app.js';
import { type Config, describeSettings, loadConfig } from './config.js';
import { createLogger } from './log.js';

if (process.argv.includes('--help')) {
  console.log('Usage: natter [--flag value ...]\n\nSettings (environment variable, flag, default):');
  for (const s of describeSettings()) {
    console.log(
      `  ${s.env.padEnd(36)} ${s.flag.padEnd(34)} ${JSON.stringify(s.default) ?? 'unset'}\n      ${s.doc}`,
    );
  }
  process.exit(0);
}

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  // A setting the operator got wrong: say which and how to fix it, without a stack trace.
  console.error(`natter: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
}
const log = createLogger(config.logLevel);
const natter = await startNatter(config);

// Every known async path handles its own failures; this is the backstop that keeps one
// unforeseen rejection from taking every connection down with the process.
process.on('unhandledRejection', (reason) => {
  log.error({ err: reason }, 'unhandled rejection');
});

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    natter.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.fatal({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
