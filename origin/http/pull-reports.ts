// POST /edge/pulls: the edge's report of the manifest pulls it served from its cache, which origin
// never saw (shared/pull-report.ts). The caller is the edge only if it holds pulls.report_secret
// (compared in constant time); with no secret configured, reports are refused. The body is outside
// input: bounded, and every entry checked (a repository name, a digest, a tag) before it is noted.
// Entries naming a manifest unknown here, or a tag that does not name the entry's digest, are noted
// and match no row when written (metadata/pulls.ts): a report cannot mark a tag pulled by naming
// another image's digest, or none. A time later than origin's now is taken as now, so no report
// can pin a pull time in the future.
import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { isDigest } from '../../shared/digest.ts';
import { errorResponse, OciFailure, ociError } from '../../shared/errors.ts';
import { MAX_REPORTED_PULLS } from '../../shared/pull-report.ts';
import { isRepositoryName, isTag } from '../../shared/reference.ts';
import type { Services } from '../services.ts';
import { invalid } from './admin-body.ts';
import type { AppContext } from './context.ts';
import { readBoundedBody } from './request-body.ts';
import { unwrap } from './respond.ts';

/** Room for MAX_REPORTED_PULLS entries of long names, not more. */
const MAX_REPORT_BYTES = 1024 * 1024;

const reportSchema = z
  .object({
    pulls: z
      .array(
        z
          .object({
            repository: z.string().refine(isRepositoryName, 'not a repository name'),
            digest: z.string().refine(isDigest, 'not a digest'),
            tag: z.string().refine(isTag, 'not a tag').optional(),
            at: z.number().int().positive(),
          })
          .strict(),
      )
      .max(MAX_REPORTED_PULLS),
  })
  .strict();

export async function postPullReport(c: AppContext, s: Services): Promise<Response> {
  const secret = s.config.pulls.report_secret;
  if (!secret) {
    return errorResponse(
      ociError('UNSUPPORTED', {
        status: 404,
        message: 'pull reports are off: pulls.report_secret is not set',
      }),
    );
  }
  if (!holdsSecret(c.req.header('authorization'), secret)) {
    throw new OciFailure(
      ociError('UNAUTHORIZED', {
        message: "a pull report needs the edge's secret (Authorization: Bearer …)",
      }),
    );
  }
  const bytes = unwrap(await readBoundedBody(c, MAX_REPORT_BYTES));
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw invalid('the body must be JSON');
  }
  const parsed = reportSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalid(`${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
  }
  const now = s.clock.now();
  for (const pull of parsed.data.pulls)
    s.pulls.record(pull.repository, pull.digest, pull.tag ?? null, 'edge', Math.min(pull.at, now));
  return c.json({ noted: s.pulls.tracking ? parsed.data.pulls.length : 0 }, 202);
}

/** `Authorization: Bearer <secret>`. */
function holdsSecret(header: string | undefined, secret: string): boolean {
  return isReportSecret(/^Bearer (.+)$/.exec(header ?? '')?.[1], secret);
}

/** `given` is the edge's report secret: compared in constant time (hashed first: equal lengths). */
export function isReportSecret(given: string | undefined, secret: string | undefined): boolean {
  if (given === undefined || secret === undefined) return false;
  const hash = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(hash(given), hash(secret));
}
