// Repositories and their tags as clients list them (the catalog, tags lists).
import { fail, ociError, ok, type Result } from '../../shared/errors.ts';
import type { Database } from '../metadata/database.ts';
import { listTags } from '../metadata/manifests.ts';
import {
  listRepositories,
  type RepositorySummary,
  repositorySummaries,
  type SummarySelection,
} from '../metadata/repositories.ts';

export type { RepositorySummary } from '../metadata/repositories.ts';

export class Repositories {
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  /**
   * Up to `limit` + 1 repositories holding a manifest that `visible` admits, in byte order after
   * `last` (one more than the page: the caller learns whether another follows); with `match`, only
   * names containing it. Reads on while the filter drops names.
   */
  async list(
    limit: number,
    last: string | undefined,
    visible: (name: string) => boolean,
    match?: string,
  ): Promise<string[]> {
    const shown: string[] = [];
    let cursor = last;
    for (;;) {
      const batch = await listRepositories(this.db, limit + 1, cursor, match);
      for (const name of batch) if (visible(name)) shown.push(name);
      if (shown.length > limit || batch.length <= limit) return shown.slice(0, limit + 1);
      cursor = batch[batch.length - 1];
    }
  }

  /** Repositories holding a manifest, in byte order after `last`, with their tag and manifest counts. */
  summaries(selection: SummarySelection): Promise<RepositorySummary[]> {
    return repositorySummaries(this.db, selection);
  }

  /** The repository's tags in byte order after `last`; NAME_UNKNOWN when it holds no manifest. */
  async tags(repository: string, limit: number, last: string | undefined): Promise<Result<string[]>> {
    const tags = await listTags(this.db, repository, limit, last);
    return tags === null ? fail(ociError('NAME_UNKNOWN', { detail: { name: repository } })) : ok(tags);
  }
}
