// The edge's report of the manifest pulls it served (POST PULL_REPORT_PATH on origin), shared by
// the edge that sends it and origin that reads it. Runs on Node and workerd.

/** Where origin takes the edge's reports. */
export const PULL_REPORT_PATH = '/edge/pulls';

/**
 * Sent by the edge with the manifest GETs it makes to origin once it reports pulls itself: origin
 * then does not count that GET (the edge counts the client's GET or HEAD it was made for). Its
 * value is the report secret: a client cannot use it to leave its own pulls out.
 */
export const PULL_REPORTED_HEADER = 'X-Registry-Pull-Reported';

/** The most pulls one report may hold (the edge sends fewer: PULL_REPORT_BATCH). */
export const MAX_REPORTED_PULLS = 2000;

export interface ReportedPull {
  readonly repository: string;
  readonly digest: string;
  /** Present when pulled by tag. */
  readonly tag?: string;
  /** When the edge served it, ms since the epoch. */
  readonly at: number;
}

export interface PullReport {
  readonly pulls: readonly ReportedPull[];
}
