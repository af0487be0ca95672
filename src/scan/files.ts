import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { lstat, readdir, stat } from "node:fs/promises";
import path from "node:path";
import { ScanError } from "./errors.js";
import { makeFinding } from "./finding.js";
import { gitMaybe, gitSpawn, records, workTreeRoot } from "./git.js";
import type { Matcher } from "./matcher.js";
import { emptyReport, overLimit, type ScanLimits, type ScanReport, type Skipped } from "./report.js";
import { DEFAULT_CHUNK_SIZE, StreamScanner, type StreamResult } from "./stream.js";

/** Options for scanning files and directories. */
export interface FileScanOptions extends ScanLimits {
  /**
   * Honour .gitignore (default in the CLI): inside a git work tree a directory's files are
   * what `git ls-files --cached --others --exclude-standard` lists, i.e. what could be
   * committed. Outside a work tree, or when false, every file is scanned (`.git/` never).
   */
  gitignore: boolean;
}

/** Display form of a path: forward slashes, as in git and SARIF URIs. */
export function displayPath(p: string): string {
  return p.split(path.sep).join("/");
}

/**
 * Scans files and directories. Paths in findings are the given paths joined with the paths
 * found under them. A path that does not exist is an error (exit 2), not "nothing found".
 */
export async function scanPaths(
  paths: readonly string[],
  matcher: Matcher,
  options: FileScanOptions,
): Promise<ScanReport> {
  const report = emptyReport();
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const scanner = new StreamScanner(matcher, chunkSize);
  const readBuffer = Buffer.allocUnsafe(chunkSize);
  for (const given of paths) {
    let st;
    try {
      st = await stat(given);
    } catch (err) {
      throw new ScanError(`cannot scan ${given}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    const files = st.isDirectory() ? listFiles(given, options.gitignore, report.skipped) : one(given);
    for await (const file of files) {
      scanFile(file, displayPath(file), scanner, readBuffer, options, report);
    }
  }
  return report;
}

async function* one(p: string): AsyncGenerator<string> {
  yield p;
}

/** Scans one file with sync reads into a reused buffer (memory: one window, whatever the size). */
function scanFile(
  file: string,
  shown: string,
  scanner: StreamScanner,
  buffer: Buffer,
  limits: ScanLimits,
  report: ScanReport,
): void {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Listed by git but deleted from the work tree: nothing on disk to leak.
    if (code !== "ENOENT")
      report.skipped.push({ path: shown, reason: "unreadable", detail: code ?? "error" });
    return;
  }
  try {
    const size = fstatSync(fd).size;
    if (overLimit(size, limits)) {
      report.skipped.push({ path: shown, reason: "too_large", size });
      return;
    }
    scanner.reset();
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      scanner.write(buffer.subarray(0, n));
      if (scanner.isBinary) break;
    }
    record(shown, scanner.end(), report);
  } catch (err) {
    report.skipped.push({
      path: shown,
      reason: "unreadable",
      detail: (err as NodeJS.ErrnoException).code ?? "error",
    });
  } finally {
    closeSync(fd);
  }
}

/** Adds one stream's outcome to the report. */
export function record(shown: string, result: StreamResult, report: ScanReport, commit?: string): void {
  if (result.binary) {
    report.skipped.push({ path: shown, reason: "binary", size: result.bytes });
    return;
  }
  report.scanned.items++;
  report.scanned.bytes += result.bytes;
  for (const h of result.hits) {
    report.findings.push(
      makeFinding(h.detector, h.secret, {
        path: shown,
        line: h.line,
        column: h.column,
        ...(commit ? { commit } : {}),
      }),
    );
  }
}

/** Scans a stream (stdin): no size cap, since memory stays one window whatever its length. */
export async function scanStream(
  input: AsyncIterable<Uint8Array>,
  shown: string,
  matcher: Matcher,
  limits: ScanLimits,
): Promise<ScanReport> {
  const report = emptyReport();
  const scanner = new StreamScanner(matcher, limits.chunkSize ?? DEFAULT_CHUNK_SIZE);
  for await (const chunk of input) {
    scanner.write(chunk);
  }
  record(shown, scanner.end(), report);
  return report;
}

/**
 * The files under `dir`, depth first. With `gitignore` and inside a work tree, git lists them
 * (tracked + untracked-but-not-ignored); otherwise the directory is walked. Symlinks are not
 * followed (they could loop or leave the tree); `.git/` is never descended into.
 */
export async function* listFiles(
  dir: string,
  gitignore: boolean,
  skipped: Skipped[],
): AsyncGenerator<string> {
  if (gitignore && (await gitListable(dir))) {
    // Streamed: a large monorepo lists millions of paths.
    const ls = gitSpawn(dir, ["ls-files", "-z", "--cached", "--others", "--exclude-standard"]);
    ls.child.stdin.end();
    const seen = new Set<string>();
    for await (const rel of records(ls.stdout, "\0")) {
      // --cached lists each stage of a conflicted file; nested repos come back as "dir/".
      const clean = rel.replace(/\/$/, "");
      if (clean === "" || seen.has(clean)) continue;
      seen.add(clean);
      const full = path.join(dir, clean);
      let st;
      try {
        st = await lstat(full);
      } catch {
        continue; // deleted in the work tree
      }
      if (st.isDirectory())
        yield* listFiles(full, gitignore, skipped); // submodule / nested repo
      else if (st.isFile()) yield full;
    }
    await ls.done();
    return;
  }
  yield* walk(dir, skipped);
}

/** True when `dir` is in a work tree and not itself ignored (an ignored dir named explicitly is walked). */
async function gitListable(dir: string): Promise<boolean> {
  const root = await workTreeRoot(dir);
  if (root === null) return false;
  const rel = path.relative(root, path.resolve(dir));
  if (rel === "" || rel.startsWith("..")) return true;
  // check-ignore exits 0 when the path is ignored.
  return (await gitMaybe(root, ["check-ignore", "-q", "--", rel])) === null;
}

async function* walk(dir: string, skipped: Skipped[]): AsyncGenerator<string> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    skipped.push({
      path: displayPath(dir),
      reason: "unreadable",
      detail: (err as NodeJS.ErrnoException).code ?? "error",
    });
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== ".git") yield* walk(full, skipped);
    } else if (e.isFile()) yield full;
  }
}
