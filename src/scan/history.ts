import { scanBlobs, type BlobRef } from "./blobs.js";
import { ScanError } from "./errors.js";
import { makeFinding } from "./finding.js";
import { gitMaybe, gitSpawn, records } from "./git.js";
import type { Matcher } from "./matcher.js";
import { emptyReport, type ScanLimits, type ScanReport } from "./report.js";
import type { StreamHit } from "./stream.js";

/** Where a blob first entered history: commit, path in that commit, and its rank (0 = oldest). */
interface FirstSeen {
  commit: string;
  path: string;
  order: number;
}

/**
 * Config that could change the shape of git's plumbing output is pinned per command: a user's
 * `log.showSignature`, colour or `diff.relative` must not break the parser or hide paths.
 */
const PINNED = ["-c", "log.showSignature=false", "-c", "color.ui=never", "-c", "core.quotePath=false"];

/**
 * Scans git history: every blob reachable from any ref (branches, tags, remotes, stash), each
 * scanned exactly once however many commits share it, including secrets in files deleted
 * since. Each distinct secret is reported once, at the commit, path and line where it first
 * appeared (the oldest commit that introduced a blob containing it) — the commit to purge and
 * the date from which to assume it leaked.
 */
export async function scanGitHistory(dir: string, matcher: Matcher, limits: ScanLimits): Promise<ScanReport> {
  if ((await gitMaybe(dir, ["rev-parse", "--git-dir"])) === null)
    throw new ScanError(`not a git repository: ${dir}`);
  const report = emptyReport();
  const withHits = new Map<string, { path: string; hits: StreamHit[] }>();

  // rev-list with a blob filter lists each reachable blob once, with a path it was seen at.
  const revList = gitSpawn(dir, [
    ...PINNED,
    "rev-list",
    "--all",
    "--objects",
    "--filter=object:type=blob",
    "--filter-provided-objects",
  ]);
  revList.child.stdin.end();
  async function* blobs(): AsyncGenerator<BlobRef> {
    for await (const line of records(revList.stdout, "\n")) {
      const sp = line.indexOf(" ");
      const sha = sp < 0 ? line : line.slice(0, sp);
      if (sha !== "") yield { sha, path: sp < 0 ? "" : line.slice(sp + 1) };
    }
    await revList.done();
  }

  await scanBlobs(dir, blobs(), matcher, limits, (ref, outcome) => {
    if (outcome.kind === "too_large")
      report.skipped.push({ path: ref.path, reason: "too_large", size: outcome.size, blob: ref.sha });
    if (outcome.kind !== "scanned") return;
    const r = outcome.result;
    if (r.binary) {
      report.skipped.push({ path: ref.path, reason: "binary", size: r.bytes, blob: ref.sha });
      return;
    }
    report.scanned.items++;
    report.scanned.bytes += r.bytes;
    if (r.hits.length) withHits.set(ref.sha, { path: ref.path, hits: r.hits });
  });
  if (withHits.size === 0) return report;

  const first = await firstAppearances(dir, new Set(withHits.keys()));
  const best = new Map<string, { hit: StreamHit; order: number; path: string; commit?: string }>();
  for (const [sha, { path, hits }] of withHits) {
    const seen = first.get(sha);
    const order = seen?.order ?? Number.POSITIVE_INFINITY;
    for (const hit of hits) {
      const current = best.get(hit.secret);
      if (current === undefined || order < current.order)
        best.set(hit.secret, {
          hit,
          order,
          path: seen?.path ?? path,
          ...(seen ? { commit: seen.commit } : {}),
        });
    }
  }
  for (const { hit, path, commit } of best.values()) {
    report.findings.push(
      makeFinding(hit.detector, hit.secret, {
        path,
        line: hit.line,
        column: hit.column,
        ...(commit ? { commit } : {}),
      }),
    );
  }
  return report;
}

/**
 * For each wanted blob, the oldest commit whose diff (against its parent, or every parent of a
 * merge: `-m`, so evil merges count) adds it, and the path it was added at. Commits come
 * oldest first (`--reverse --date-order`: parents before children), so the first sighting is
 * the answer and the walk stops once every blob is placed. A blob no commit adds (a tag
 * pointing straight at a blob) keeps the path rev-list gave and no commit.
 */
async function firstAppearances(dir: string, wanted: Set<string>): Promise<Map<string, FirstSeen>> {
  const log = gitSpawn(dir, [
    ...PINNED,
    "log",
    "--all",
    "--date-order",
    "--reverse",
    "--root",
    "-m",
    "--raw",
    "--no-abbrev",
    "--no-renames",
    "--no-relative",
    "-z",
    "--format=commit %H",
  ]);
  log.child.stdin.end();
  const found = new Map<string, FirstSeen>();
  let commit = "";
  let order = 0;
  // With -z a raw entry is ":<modes> <old> <new> <status>" NUL "<path>" NUL.
  let pendingBlob: string | null = null;
  for await (const rec of records(log.stdout, "\0")) {
    if (pendingBlob !== null) {
      if (wanted.has(pendingBlob) && !found.has(pendingBlob))
        found.set(pendingBlob, { commit, path: rec, order });
      pendingBlob = null;
      if (found.size === wanted.size) {
        log.stop();
        break;
      }
      continue;
    }
    const t = rec.replace(/^\n+/, "");
    if (t.startsWith("commit ")) {
      commit = t.slice(7).trim();
      order++;
    } else if (t.startsWith(":")) {
      const fields = t.split(" ");
      pendingBlob = fields[4]?.startsWith("D") ? "" : (fields[3] ?? "");
    }
  }
  await log.done();
  return found;
}
