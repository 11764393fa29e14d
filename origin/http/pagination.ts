// `n` and `last` of the tags list and the catalog, and the Link header to the next page.
import { OciFailure, ociError } from '../../shared/errors.ts';
import type { AppContext } from './context.ts';

export interface Page {
  readonly limit: number;
  readonly last: string | undefined;
}

export function pageOf(c: AppContext, defaultLimit: number, maxLimit: number): Page {
  const n = c.req.query('n');
  const last = c.req.query('last') || undefined;
  if (n === undefined || n === '') return { limit: defaultLimit, last };
  if (!/^\d+$/.test(n)) {
    throw new OciFailure(
      ociError('UNSUPPORTED', { status: 400, message: `n must be a non-negative integer, got "${n}"` }),
    );
  }
  return { limit: Math.min(Number(n), maxLimit), last };
}

/** Given up to limit+1 items, answers the page and sets Link when there is more. */
export function paginate(c: AppContext, path: string, page: Page, items: string[]): string[] {
  if (items.length <= page.limit) return items;
  const shown = items.slice(0, page.limit);
  const last = shown[shown.length - 1];
  if (last !== undefined) {
    c.header('Link', `<${path}?n=${page.limit}&last=${encodeURIComponent(last)}>; rel="next"`);
  }
  return shown;
}
