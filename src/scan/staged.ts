import { scanBlobs, type BlobRef } from "./blobs.js";
import { ScanError } from "./errors.js";
import { record } from "./files.js";
import { git, workTreeRoot } from "./git.js";
import type { Matcher } from "./matcher.js";
import { emptyReport, type ScanLimits, type ScanReport } from "./report.js";

/**
 * Scans what is staged for the next commit (what the pre-commit hook runs): the index version
 * of every added, copied, modified or renamed file — not the work tree, which may differ
 * (`git add -p`). Whole staged files are scanned, so a key already in a file being changed
 * blocks too: the new commit would contain it again. Paths are relative to the repo root.
 */
export async function scanStaged(dir: string, matcher: Matcher, limits: ScanLimits): Promise<ScanReport> {
  const root = await workTreeRoot(dir);
  if (root === null) throw new ScanError(`not inside a git work tree: ${dir}`);
  // --raw gives the staged blob id directly: one cat-file for all files instead of
  // `git show :path` per file. Works before the first commit too (diffs against nothing).
  const out = await git(root, [
    "-c",
    "core.quotePath=false",
    "diff",
    "--cached",
    "--raw",
    "-z",
    "--no-abbrev",
    "--no-renames",
    "--no-relative",
    "--no-ext-diff",
    "--diff-filter=ACMR",
  ]);
  const refs: BlobRef[] = [];
  const parts = out.split("\0");
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const fields = parts[i]!.replace(/^\n+/, "").split(" ");
    const mode = fields[1];
    const sha = fields[3];
    // 160000 is a submodule (a commit id, not content).
    if (sha && mode !== "160000") refs.push({ sha, path: parts[i + 1]! });
  }
  const report = emptyReport();
  async function* each(): AsyncGenerator<BlobRef> {
    yield* refs;
  }
  await scanBlobs(root, each(), matcher, limits, (ref, outcome) => {
    if (outcome.kind === "too_large")
      report.skipped.push({ path: ref.path, reason: "too_large", size: outcome.size });
    else if (outcome.kind === "scanned") record(ref.path, outcome.result, report);
  });
  return report;
}
