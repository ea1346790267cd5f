export { type NatterSeams, type RunningNatter, startNatter } from './app.js';
export { type Config, type ConfigInput, describeSettings, loadConfig, resolveConfig } from './config.js';
