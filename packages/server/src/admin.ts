#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { NatterError } from '@natter/protocol';
import { AccountService } from './auth/account-service.js';
import { mintApiKey } from './auth/api-keys.js';
import { systemClock } from './clock.js';
import { loadConfig } from './config.js';
import { createLogger } from './log.js';
import { openStores } from './wiring/stores.js';

/**
 * Administration from the command line, against the store the server's settings name (the same
 * environment variables and flags as `natter`, opened as main.ts opens it):
 *
 *   natter-admin reset-password <username> [--setting-flag value ...]
 *   natter-admin api-key <name> <scope+scope...>
 *
 * sets a new, generated password for a built-in account, prints it once, and revokes every session
 * of the user. `api-key` prints a new server API key once, and the NATTER_SERVER_API_KEYS entry (its
 * hash) that admits it; it touches no store. Exit codes: 0 done, 1 no such built-in account, 2 usage
 * or settings error.
 */
const USAGE =
  'Usage: natter-admin reset-password <username> [--setting-flag value ...]\n       natter-admin api-key <name> <scope+scope...>';

const [command, username, ...settingFlags] = process.argv.slice(2);
if (command === 'api-key') {
  try {
    const { key, entry } = mintApiKey(username ?? '', (settingFlags[0] ?? '').split('+'));
    console.log(`API key (shown once): ${key}`);
    console.log(`Add to NATTER_SERVER_API_KEYS: ${entry}`);
    process.exit(0);
  } catch (error) {
    console.error(`natter-admin: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    process.exit(2);
  }
}
if (command !== 'reset-password' || !username || username.startsWith('--')) {
  console.error(USAGE);
  process.exit(2);
}

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env, settingFlags);
} catch (error) {
  console.error(`natter-admin: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
}

const log = createLogger('warn');
const stores = openStores(config, log, systemClock);
let exitCode = 0;
try {
  await stores.whenReady();
  const accounts = new AccountService(stores.accountStore, config);
  // 24 random bytes: 32 characters a person can copy, far past guessing.
  const password = randomBytes(24).toString('base64url');
  const { revoked } = await accounts.resetPassword(username, password);
  console.log(`New password for ${username}: ${password}`);
  console.log(
    `Revoked ${revoked} session${revoked === 1 ? '' : 's'}. Share the password privately; it is not shown again.`,
  );
} catch (error) {
  if (error instanceof NatterError && error.code === 'user_not_found') {
    console.error(`natter-admin: no built-in account named ${username}`);
    exitCode = 1;
  } else {
    console.error(`natter-admin: ${error instanceof Error ? error.message : String(error)}`);
    exitCode = 2;
  }
} finally {
  await stores.close();
}
process.exit(exitCode);
