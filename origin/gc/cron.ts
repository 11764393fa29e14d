// The cron dialect of gc.schedule: 5 fields, or 6 with seconds first (croner).
import { Cron, type CronOptions } from 'croner';

export const CRON_MODE: CronOptions['mode'] = '5-or-6-parts';

/** Why `expression` is not a cron expression, or null when it is one. */
export function cronProblem(expression: string): string | null {
  try {
    new Cron(expression, { paused: true, mode: CRON_MODE }).stop();
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}
