// JSON logs, one line per event (pino).
import pino, { type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'registry-origin' }, timestamp: pino.stdTimeFunctions.isoTime });
}
