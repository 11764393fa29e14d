// Prometheus metrics of the origin (served at /metrics).
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** A quota rule in effect and its usage, as the gauges show it. */
export interface QuotaGauge {
  readonly prefix: string;
  readonly limit: number;
  readonly used: number;
}

export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'registry_http_requests_total',
    help: 'HTTP requests by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'registry_http_request_duration_seconds',
    help: 'HTTP request duration by route and method',
    labelNames: ['route', 'method'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
    registers: [this.registry],
  });
  readonly bytesIn = new Counter({
    name: 'registry_http_request_bytes_total',
    help: 'Bytes received in request bodies',
    registers: [this.registry],
  });
  readonly bytesOut = new Counter({
    name: 'registry_http_response_bytes_total',
    help: 'Bytes sent in response bodies',
    registers: [this.registry],
  });
  readonly blobCache = new Counter({
    name: 'registry_blob_cache_requests_total',
    help: 'Blob GETs answered from the disk cache (hit) or the storage backend (miss)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly scans = new Counter({
    name: 'registry_scans_total',
    help: 'Scan jobs by outcome (skipped: already scanned against the current data)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly layersAnalyzed = new Counter({
    name: 'registry_scan_layers_analyzed_total',
    help: 'Layers read and analysed by the built-in scanner (each layer digest once)',
    registers: [this.registry],
  });
  readonly passwordChecks = new Counter({
    name: 'registry_password_checks_total',
    help: 'Password hash checks by outcome (busy: refused, every check thread taken)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly pullsRecorded = new Counter({
    name: 'registry_pulls_recorded_total',
    help: 'Manifest pulls noted for last-pull tracking, by who served them (origin, or the edge reporting)',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly pullsDropped = new Counter({
    name: 'registry_pulls_dropped_total',
    help: 'Pull times not kept (a manifest or tag entry): beyond pulls.max_pending entries waiting to be written',
    registers: [this.registry],
  });
  readonly pullFlushes = new Counter({
    name: 'registry_pull_flushes_total',
    help: 'Writes of the pulls noted since the last one (one UPDATE per table), by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly uploadSessions: Gauge;
  readonly quotaUsed: Gauge<'prefix'>;
  readonly quotaLimit: Gauge<'prefix'>;

  constructor(
    countUploads: () => Promise<number>,
    quotas: () => Promise<readonly QuotaGauge[]> = async () => [],
  ) {
    this.uploadSessions = new Gauge({
      name: 'registry_upload_sessions',
      help: 'Upload sessions in progress',
      registers: [this.registry],
      async collect() {
        this.set(await countUploads());
      },
    });
    // Both read at each scrape from one listing (a rule removed meanwhile leaves no stale series).
    let listing: Promise<readonly QuotaGauge[]> | undefined;
    const current = () => {
      listing ??= quotas().finally(() => {
        listing = undefined;
      });
      return listing;
    };
    this.quotaUsed = new Gauge({
      name: 'registry_quota_used_bytes',
      help: 'Bytes used under each quota prefix: distinct blobs its manifests reference, and the manifests',
      labelNames: ['prefix'] as const,
      registers: [this.registry],
      async collect() {
        const rules = await current();
        this.reset();
        for (const r of rules) this.set({ prefix: r.prefix }, r.used);
      },
    });
    this.quotaLimit = new Gauge({
      name: 'registry_quota_limit_bytes',
      help: 'The quota of each prefix, in bytes',
      labelNames: ['prefix'] as const,
      registers: [this.registry],
      async collect() {
        const rules = await current();
        this.reset();
        for (const r of rules) this.set({ prefix: r.prefix }, r.limit);
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }
}
