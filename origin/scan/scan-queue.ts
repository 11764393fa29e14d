// The scan queue as the rest of the origin sees it: jobs are rows (metadata/scans.ts), queued in
// the transaction of what asked for them — a pushed image (a domain event, when scan.on_push is
// set) or a scan request — and the workers of this process are woken after the commit.
import type { Queryable } from '../metadata/database.ts';
import { enqueueScan, type ScanReason } from '../metadata/scans.ts';
import type { EventListener, RegistryEvent } from '../registry/events.ts';
import { Wakeup } from '../wakeup.ts';

export class ScanQueue implements EventListener {
  /** Notified after this process queued a job. */
  readonly queued = new Wakeup();
  private readonly onPush: boolean;

  /** `onPush`: every pushed image is queued (config scan.on_push). */
  constructor(onPush: boolean) {
    this.onPush = onPush;
  }

  /** Queues a scan of `digest`, read from `repository`; call `queued.notify()` once committed. */
  enqueue(
    q: Queryable,
    digest: string,
    repository: string,
    reason: ScanReason,
    force: boolean,
  ): Promise<void> {
    return enqueueScan(q, digest, repository, reason, force);
  }

  async record(tx: Queryable, event: RegistryEvent): Promise<void> {
    if (this.wants(event)) await this.enqueue(tx, event.digest, event.repository, 'push', false);
  }

  committed(event: RegistryEvent): void {
    if (this.wants(event)) this.queued.notify();
  }

  /** Images only: an index's children were pushed (and queued) before it; artifacts are not scanned. */
  private wants(event: RegistryEvent): event is Extract<RegistryEvent, { type: 'push' }> {
    return this.onPush && event.type === 'push' && event.image;
  }
}
