// Repositories and their tags as clients list them (the catalog, tags lists).
import { fail, ociError, ok, type Result } from '../../shared/errors.ts';
import type { Database } from '../metadata/database.ts';
import { listTags } from '../metadata/manifests.ts';
import { listRepositories, type RepositorySummary, repositorySummaries } from '../metadata/repositories.ts';

export type { RepositorySummary } from '../metadata/repositories.ts';

export class Repositories {
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  /** Repositories holding a manifest, in byte order after `last`. */
  list(limit: number, last: string | undefined): Promise<string[]> {
    return listRepositories(this.db, limit, last);
  }

  /** Repositories holding a manifest, in byte order after `last`, with their tag and manifest counts. */
  summaries(limit: number, last: string | undefined): Promise<RepositorySummary[]> {
    return repositorySummaries(this.db, limit, last);
  }

  /** The repository's tags in byte order after `last`; NAME_UNKNOWN when it holds no manifest. */
  async tags(repository: string, limit: number, last: string | undefined): Promise<Result<string[]>> {
    const tags = await listTags(this.db, repository, limit, last);
    return tags === null ? fail(ociError('NAME_UNKNOWN', { detail: { name: repository } })) : ok(tags);
  }
}
