import { execFile, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import type { Readable } from "node:stream";
import { ScanError } from "./errors.js";

/**
 * Thin helpers around the `git` executable. The scanner shells out to git instead of reading
 * the object store itself: git knows packs, alternates, partial clones and .gitignore rules,
 * and its streaming plumbing (`rev-list`, `cat-file --batch`) is fast.
 *
 * Children inherit the environment on purpose: inside a pre-commit hook git sets
 * GIT_INDEX_FILE (e.g. for `git commit -a`), and `--staged` must read that index.
 */

/** Runs `git -C dir …` to completion and returns stdout; a failure becomes a ScanError. */
export function git(dir: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("git", ["-C", dir, ...args], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(gitError(args, err, String(stderr)));
      else resolve(String(stdout));
    });
  });
}

/** Like {@link git} but resolves to null instead of failing (for probes such as rev-parse). */
export async function gitMaybe(dir: string, args: readonly string[]): Promise<string | null> {
  try {
    return await git(dir, args);
  } catch {
    return null;
  }
}

/** The top-level directory of the work tree containing `dir`, or null when it is not in one. */
export async function workTreeRoot(dir: string): Promise<string | null> {
  const out = await gitMaybe(dir, ["rev-parse", "--show-toplevel"]);
  return out === null || out.trim() === "" ? null : out.trim();
}

/** Starts a long-running git command whose stdout the caller streams. */
export function gitSpawn(dir: string, args: readonly string[]): GitProcess {
  const child = spawn("git", ["-C", dir, ...args], { stdio: ["pipe", "pipe", "pipe"] });
  return new GitProcess(child, args);
}

/** A running git child: stdout to read, and `done()` that fails with git's own message. */
export class GitProcess {
  private stderr = "";
  private readonly exit: Promise<void>;
  private killed = false;

  constructor(
    readonly child: ChildProcessWithoutNullStreams,
    private readonly args: readonly string[],
  ) {
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (s: string) => {
      if (this.stderr.length < 4096) this.stderr += s;
    });
    this.exit = new Promise((resolve, reject) => {
      child.on("error", (err) => reject(gitError(args, err, this.stderr)));
      child.on("close", (code, signal) => {
        if (code === 0 || this.killed) resolve();
        else reject(gitError(this.args, new Error(`exit ${code ?? signal}`), this.stderr));
      });
    });
    // Surface failures through done(); an unobserved rejection must not crash the process.
    this.exit.catch(() => undefined);
  }

  get stdout(): Readable {
    return this.child.stdout;
  }

  /** Stops the command early (its output is no longer needed); done() then resolves. */
  stop(): void {
    this.killed = true;
    this.child.kill();
  }

  /** Resolves when git exited successfully. */
  done(): Promise<void> {
    return this.exit;
  }
}

function gitError(args: readonly string[], err: Error, stderr: string): ScanError {
  if ((err as NodeJS.ErrnoException).code === "ENOENT")
    return new ScanError("git is not installed or not on PATH (needed for this scan mode)");
  const line = stderr.split("\n").find((l) => l.trim() !== "") ?? err.message;
  return new ScanError(`git ${args[0] ?? ""} failed: ${line.replace(/^fatal: /, "").trim()}`);
}

/** Splits a stream of records (NUL-terminated for git's `-z` output, or lines) into strings. */
export async function* records(stream: Readable, separator: "\0" | "\n"): AsyncGenerator<string> {
  let rest = "";
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    // Paths are bytes; latin1 keeps them round-trippable, utf8 makes them readable. Git output
    // is split on the separator first, then each record decoded, so multibyte paths survive chunking.
    const parts = (rest + chunk.toString("latin1")).split(separator);
    rest = parts.pop()!;
    for (const p of parts) yield Buffer.from(p, "latin1").toString("utf8");
  }
  if (rest !== "") yield Buffer.from(rest, "latin1").toString("utf8");
}
