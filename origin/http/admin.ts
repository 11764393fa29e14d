// Admin endpoints: POST /admin/gc?mode=dry-run|delete&untagged=true runs a garbage collection and
// answers its report. Administrators are the users in auth.admins, by Basic credentials or by a
// Bearer token granting registry:admin:* (which /token grants only to them, only when asked for);
// other users get 403 DENIED, other tokens 401 insufficient_scope, anonymous callers 401.
import { OciFailure, ociError } from '../../shared/errors.ts';
import type { Requirement } from '../../shared/requirement.ts';
import { collectGarbage, GcBusyError, type GcReport, gcDependencies } from '../gc/collect.ts';
import { summaryLine, youngLine } from '../gc/report.ts';
import type { Services } from '../services.ts';
import { authenticate, authorize } from './authorize.ts';
import type { AppContext } from './context.ts';

/** Items listed per kind in an answer (the counts and bytes are always whole). */
const MAX_ITEMS = 1000;

export async function requireAdmin(c: AppContext, s: Services): Promise<string> {
  c.set('routeLabel', 'admin');
  const requirement: Requirement = { kind: 'admin' };
  const authn = await authenticate(
    s,
    c.req.header('authorization'),
    requirement,
    c.env.incoming.socket.remoteAddress ?? 'unknown',
  );
  if (!authn.ok) throw new OciFailure(authn.error);
  c.set('principal', authn.principal);
  const denied = authorize(s, authn.principal, requirement);
  if (denied) throw new OciFailure(denied);
  // An administrator is a named user.
  return authn.principal.user as string;
}

function flag(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (['true', '1', 'yes', ''].includes(value)) return true;
  if (['false', '0', 'no'].includes(value)) return false;
  throw new OciFailure(
    ociError('UNSUPPORTED', { status: 400, message: `untagged must be true or false, not "${value}"` }),
  );
}

export async function adminGc(c: AppContext, s: Services): Promise<Response> {
  const user = await requireAdmin(c, s);
  const mode = c.req.query('mode') ?? 'dry-run';
  if (mode !== 'dry-run' && mode !== 'delete') {
    throw new OciFailure(
      ociError('UNSUPPORTED', { status: 400, message: `mode must be dry-run or delete, not "${mode}"` }),
    );
  }
  const untagged = flag(c.req.query('untagged'), s.config.gc.untagged);
  let report: GcReport;
  try {
    report = await collectGarbage(gcDependencies(s), {
      mode,
      untagged,
      gracePeriodMs: s.config.gc.grace_period,
    });
  } catch (error) {
    if (error instanceof GcBusyError) {
      return c.json(
        { errors: [{ code: 'GC_RUNNING', message: error.message, detail: { holder: error.holder } }] },
        409,
      );
    }
    throw error;
  }
  s.log.info(
    {
      user,
      mode,
      untagged,
      blobs: report.blobs.count,
      bytes: report.blobs.bytes,
      manifests: report.manifests.count,
    },
    `gc (${mode}) by ${user}: ${summaryLine(report)}`,
  );
  const trim = <T>(items: T[]) => ({ items: items.slice(0, MAX_ITEMS), truncated: items.length > MAX_ITEMS });
  return c.json({
    ...report,
    summary: summaryLine(report),
    blobs: { ...report.blobs, ...trim(report.blobs.items) },
    manifests: { ...report.manifests, ...trim(report.manifests.items) },
    manifestBytes: { ...report.manifestBytes, ...trim(report.manifestBytes.items) },
    // Why unreferenced blobs stayed, in the CLI's words (null when the grace period kept none).
    youngBlobs: { ...report.youngBlobs, summary: youngLine(report) ?? null },
  });
}
