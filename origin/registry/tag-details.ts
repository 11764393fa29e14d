// What the admin listing of a repository's tags says of each: the manifest it names, the bytes
// it reaches, its platforms, who pushed it and when, when it was last pulled, whether it is
// immutable, and its scan with the pull policy's verdict. Each part is read for the whole page at
// once (origin/metadata/tag-details.ts); an index's bytes are read (once) for its platforms and
// images. Scan summaries and verdicts come from the scans service and the pull policy themselves,
// so the listing says what a scan report and a pull would.
import { fail, ociError, ok, type Result } from '../../shared/errors.ts';
import { type Platform, parseManifest, type ScanOutline, scanSubject } from '../../shared/manifest.ts';
import { IMAGE_CONFIG_TYPES, IMAGE_MANIFEST_TYPES } from '../../shared/media-types.ts';
import { isStorableText } from '../../shared/storable-text.ts';
import type { Database } from '../metadata/database.ts';
import type { ManifestRecord } from '../metadata/manifests.ts';
import {
  knownRepositoryId,
  reachedBytes,
  type TagCursor,
  type TagOrder,
  tagPage,
} from '../metadata/tag-details.ts';
import type { ImmutableTags } from '../policy/immutable-tags.ts';
import type { PullPolicy } from '../policy/pull-policy.ts';
import type { Scans, SeverityCounts } from '../scan/scans.ts';
import type { Manifests } from './manifests.ts';

export type { TagCursor, TagOrder } from '../metadata/tag-details.ts';

// A cursor is the last tag shown (and its push time, to the microsecond), as base64url JSON:
// opaque to clients, who take it from the previous page (a Link header, a "next" link).
export function encodeTagCursor(cursor: TagCursor): string {
  const fields =
    cursor.order === 'pushed_at'
      ? [cursor.order, cursor.pushedAtUs, cursor.name]
      : [cursor.order, cursor.name];
  return Buffer.from(JSON.stringify(fields)).toString('base64url');
}

/** The cursor `value` encodes for `order`; null when it is no such cursor (it is outside text). */
export function decodeTagCursor(value: string, order: TagOrder): TagCursor | null {
  let fields: unknown;
  try {
    fields = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(fields) || fields[0] !== order) return null;
  const name = fields.at(-1);
  // A tag name is text the database can hold.
  if (typeof name !== 'string' || !isStorableText(name)) return null;
  if (order === 'name') return fields.length === 2 ? { order, name } : null;
  const pushedAtUs = fields[1];
  if (fields.length !== 3 || typeof pushedAtUs !== 'number' || !Number.isSafeInteger(pushedAtUs)) return null;
  return { order, pushedAtUs, name };
}

export interface ScanSummary {
  readonly status: 'pending' | 'running' | 'completed' | 'failed' | 'none';
  readonly scannedAt: string | null;
  readonly vulnerabilities: SeverityCounts;
  readonly total: number;
  /** Whether the pull policy would refuse a pull of it now, and why. */
  readonly blocked: boolean;
  readonly reason: string;
}

export interface TagDetail {
  readonly tag: string;
  readonly digest: string;
  readonly mediaType: string;
  readonly artifactType: string | null;
  /** An index's images' platforms; null for an image (its config is not read) or unreadable bytes. */
  readonly platforms: Platform[] | null;
  readonly size: number;
  readonly pushedAt: Date;
  readonly pushedBy: string | null;
  readonly lastPulledAt: Date | null;
  readonly immutable: boolean;
  /** null for an artifact (nothing to scan) or an index whose bytes could not be read. */
  readonly scan: ScanSummary | null;
}

export interface TagDetailsPage {
  readonly tags: TagDetail[];
  /** Where the next page starts; absent on the last page. */
  readonly next?: TagCursor;
}

export interface TagDetailsDependencies {
  readonly db: Database;
  readonly manifests: Manifests;
  readonly immutableTags: ImmutableTags;
  readonly scans: Scans;
  readonly policy: PullPolicy;
}

/** Index bytes read at once for one page (from the cache, else the store). */
const READS_AT_ONCE = 8;

export class TagDetails {
  private readonly d: TagDetailsDependencies;

  constructor(dependencies: TagDetailsDependencies) {
    this.d = dependencies;
  }

  /** A page of the repository's tags; NAME_UNKNOWN when it holds no manifest. */
  async page(
    repository: string,
    order: TagOrder,
    cursor: TagCursor | undefined,
    limit: number,
  ): Promise<Result<TagDetailsPage>> {
    const { db } = this.d;
    const id = await knownRepositoryId(db, repository);
    if (id === null) return fail(ociError('NAME_UNKNOWN', { detail: { name: repository } }));
    const rows = await tagPage(db, id, order, cursor, limit + 1);
    const shown = rows.slice(0, limit);
    const digests = [...new Set(shown.map((r) => r.manifest.digest))];
    const records = new Map(shown.map((r) => [r.manifest.digest, r.manifest]));
    const [sizes, guard, outlines] = await Promise.all([
      reachedBytes(db, id, digests),
      this.d.immutableTags.rulesOf(repository),
      this.outlines(repository, [...records.values()]),
    ]);
    const scannable = [...outlines.entries()].map(([digest, o]) => ({ digest, outline: o.outline }));
    const [reports, decisions] = await Promise.all([
      this.d.scans.reports(scannable, false),
      this.d.policy.decisions(repository, scannable),
    ]);
    const tags = shown.map((row): TagDetail => {
      const { digest } = row.manifest;
      const outline = outlines.get(digest);
      const report = reports.get(digest);
      const decision = decisions.get(digest);
      return {
        tag: row.tag,
        digest,
        mediaType: row.manifest.mediaType,
        artifactType: row.manifest.artifactType,
        platforms: outline?.platforms ?? null,
        size: sizes.get(digest) ?? 0,
        pushedAt: row.pushedAt,
        pushedBy: row.pushedBy,
        lastPulledAt: row.lastPulledAt,
        immutable: guard.protecting(row.tag) !== undefined,
        scan:
          outline?.outline.kind === 'artifact' || !report || !decision
            ? null
            : {
                status: report.status,
                scannedAt: report.scanned_at,
                vulnerabilities: report.vulnerabilities,
                total: report.details.length,
                blocked: !decision.allowed,
                reason: decision.reason,
              },
      };
    });
    const end = shown.at(-1);
    if (rows.length <= limit || !end) return ok({ tags });
    const next: TagCursor =
      order === 'pushed_at' ? { order, pushedAtUs: end.pushedAtUs, name: end.tag } : { order, name: end.tag };
    return ok({ tags, next });
  }

  /**
   * What a scan reads each manifest as, and an index's platforms. An image manifest whose stored
   * artifact type is an image config's media type is taken for an image without reading its bytes:
   * the artifact type stands in for the config's media type when none is declared (a manifest
   * declaring an image config's type over another config would be misread; no client writes
   * that). Indexes and other manifests are parsed, as scans and the pull policy parse them; those
   * whose bytes cannot be read are left out.
   */
  private async outlines(
    repository: string,
    records: readonly ManifestRecord[],
  ): Promise<Map<string, { outline: ScanOutline; platforms: Platform[] | null }>> {
    const outlines = new Map<string, { outline: ScanOutline; platforms: Platform[] | null }>();
    const toRead: ManifestRecord[] = [];
    for (const record of records) {
      const plainImage =
        IMAGE_MANIFEST_TYPES.includes(record.mediaType) &&
        record.artifactType !== null &&
        IMAGE_CONFIG_TYPES.includes(record.artifactType);
      if (plainImage) outlines.set(record.digest, { outline: { kind: 'image' }, platforms: null });
      else toRead.push(record);
    }
    let next = 0;
    const reader = async () => {
      for (let record = toRead[next++]; record !== undefined; record = toRead[next++]) {
        const bytes = await this.d.manifests.bytesOf(repository, record);
        const parsed = bytes && parseManifest(bytes, record.mediaType);
        if (!parsed?.ok) continue;
        const manifest = parsed.value;
        const outline = scanSubject(manifest);
        const platforms =
          manifest.kind === 'index' ? platformsOf(manifest.children.map((c) => c.platform)) : null;
        outlines.set(record.digest, { outline, platforms });
      }
    };
    await Promise.all(Array.from({ length: Math.min(READS_AT_ONCE, toRead.length) }, reader));
    return outlines;
  }
}

/** The platforms of an index's images, each once, in its order; buildx's attestations (unknown/unknown) are not images. */
function platformsOf(platforms: readonly (Platform | undefined)[]): Platform[] {
  const seen = new Set<string>();
  const listed: Platform[] = [];
  for (const p of platforms) {
    if (!p || p.architecture === 'unknown') continue;
    const key = `${p.os}/${p.architecture}/${p.variant}`;
    if (seen.has(key)) continue;
    seen.add(key);
    listed.push({
      ...(p.os === undefined ? {} : { os: p.os }),
      ...(p.architecture === undefined ? {} : { architecture: p.architecture }),
      ...(p.variant === undefined ? {} : { variant: p.variant }),
    });
  }
  return listed;
}
