import { applyAllowlist } from "./allowlist.js";
import type { Detector } from "./detectors.js";
import { ScanError } from "./errors.js";
import { compareFindings } from "./finding.js";
import { scanPaths, scanStream } from "./files.js";
import { scanGitHistory } from "./history.js";
import { Matcher } from "./matcher.js";
import { emptyReport, type ScanLimits, type ScanReport } from "./report.js";
import { scanStaged } from "./staged.js";

/** What to scan. */
export type ScanTarget =
  /** Files and directories; `-` reads `stdin`. */
  | { mode: "paths"; paths: readonly string[]; gitignore: boolean; stdin?: AsyncIterable<Uint8Array> }
  /** Every blob reachable from any ref of the repository at `repo`. */
  | { mode: "git"; repo: string }
  /** The staged changes of the work tree at `repo` (the pre-commit hook). */
  | { mode: "staged"; repo: string };

/** A finished scan: findings sorted, allowlisted ones removed (and counted). */
export interface ScanResult extends ScanReport {
  allowlisted: number;
  durationMs: number;
}

/** Runs one scan. Failures to scan (missing path, not a repo, git error) throw ScanError. */
export async function runScan(
  target: ScanTarget,
  detectors: readonly Detector[],
  limits: ScanLimits,
  allow: ReadonlySet<string>,
  now: () => number = Date.now,
): Promise<ScanResult> {
  const started = now();
  const matcher = new Matcher(detectors);
  let report: ScanReport;
  if (target.mode === "git") report = await scanGitHistory(target.repo, matcher, limits);
  else if (target.mode === "staged") report = await scanStaged(target.repo, matcher, limits);
  else report = await scanTargets(target.paths, target.gitignore, target.stdin, matcher, limits);
  const { findings, allowlisted } = applyAllowlist(report.findings, allow);
  findings.sort(compareFindings);
  return { ...report, findings, allowlisted, durationMs: now() - started };
}

async function scanTargets(
  paths: readonly string[],
  gitignore: boolean,
  stdin: AsyncIterable<Uint8Array> | undefined,
  matcher: Matcher,
  limits: ScanLimits,
): Promise<ScanReport> {
  const total = emptyReport();
  const files = paths.filter((p) => p !== "-");
  if (paths.length > files.length) {
    if (stdin === undefined) throw new ScanError("stdin (-) is not available here");
    merge(total, await scanStream(stdin, "-", matcher, limits));
  }
  if (files.length) merge(total, await scanPaths(files, matcher, { ...limits, gitignore }));
  return total;
}

function merge(into: ScanReport, from: ScanReport): void {
  into.findings.push(...from.findings);
  into.skipped.push(...from.skipped);
  into.scanned.items += from.scanned.items;
  into.scanned.bytes += from.scanned.bytes;
}
