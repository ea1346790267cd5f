import { type Logger, pino } from 'pino';

/** Structured JSON logs on stdout, one object per line. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'natter' }, timestamp: pino.stdTimeFunctions.isoTime });
}
