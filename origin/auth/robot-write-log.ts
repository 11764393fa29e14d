// A log line for every push and delete a robot account makes, from the domain events, which carry
// who made each write: CI's writes stay attributable after the fact.
import type { Logger } from 'pino';
import type { EventListener } from '../registry/events.ts';
import { isRobotLogin } from './robot-names.ts';

export function robotWriteLog(log: Logger): EventListener {
  return {
    committed(event) {
      const robot = event.actor.user;
      if (!isRobotLogin(robot) || (event.type !== 'push' && event.type !== 'delete')) return;
      const target = `${event.repository}${event.tag ? `:${event.tag}` : ''}${event.digest ? `@${event.digest}` : ''}`;
      log.info(
        {
          robot,
          event: event.type,
          repository: event.repository,
          digest: event.digest,
          tag: event.tag,
          address: event.actor.address,
        },
        `${event.type} of ${target} by ${robot}`,
      );
    },
  };
}
