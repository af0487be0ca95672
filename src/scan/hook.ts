import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ScanError } from "./errors.js";
import { git } from "./git.js";

/** The line that marks a pre-commit hook as keyward's own (and so safe to replace or remove). */
export const HOOK_MARKER = "# keyward pre-commit hook";

/** How the hook runs keyward: absolute node + script paths, or a shell command such as `npx keyward`. */
export type HookCommand = { node: string; script: string } | { shell: string };

/** POSIX single-quoting: the one safe way to embed an arbitrary path in sh. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The hook script. It runs `keyward scan --staged` and lets its exit code decide: 1 (a key is
 * staged) and 2 (the scan failed) both block, so a broken scanner fails closed rather than
 * waving commits through. keyward is found by the absolute paths recorded at install time
 * (immune to PATH differences in GUIs and IDEs that run hooks), then on PATH; if neither
 * exists the commit is blocked with instructions.
 */
export function hookScript(command: HookCommand, scanArgs: readonly string[] = []): string {
  const args = ["scan", "--staged", ...scanArgs].map(shellQuote).join(" ");
  const head = [
    "#!/bin/sh",
    `${HOOK_MARKER} (installed by \`keyward hook install\`; remove with \`keyward hook install --uninstall\`).`,
    "# Blocks a commit whose staged files contain an API key. Known test fixtures: add their",
    "# fingerprints to .keyward-allowlist. Last resort, once: git commit --no-verify",
  ];
  const notFound = [
    `echo "keyward pre-commit hook: cannot run keyward, so the commit is blocked." >&2`,
    `echo "Reinstall the hook with 'keyward hook install', or skip the check once with 'git commit --no-verify'." >&2`,
    "exit 2",
  ];
  if ("shell" in command) {
    return [...head, `${command.shell} ${args} || exit $?`, "exit 0", ""].join("\n");
  }
  return [
    ...head,
    `KEYWARD_NODE=${shellQuote(command.node)}`,
    `KEYWARD_SCRIPT=${shellQuote(command.script)}`,
    `if [ -x "$KEYWARD_NODE" ] && [ -f "$KEYWARD_SCRIPT" ]; then`,
    `  exec "$KEYWARD_NODE" "$KEYWARD_SCRIPT" ${args}`,
    "fi",
    "if command -v keyward >/dev/null 2>&1; then",
    `  exec keyward ${args}`,
    "fi",
    ...notFound,
    "",
  ].join("\n");
}

/** The pre-commit hook file of the repository containing `dir` (honours core.hooksPath and worktrees). */
export async function preCommitPath(dir: string): Promise<string> {
  let hooks: string;
  try {
    hooks = (await git(dir, ["rev-parse", "--git-path", "hooks"])).trim();
  } catch {
    throw new ScanError(`not a git repository: ${dir}`);
  }
  return path.join(path.resolve(dir, hooks), "pre-commit");
}

function readExisting(file: string): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new ScanError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/**
 * Writes the hook. An existing hook that is not keyward's is never overwritten (it may be
 * husky's, pre-commit's or hand-written): installing refuses and says which line to add.
 */
export function installHook(file: string, script: string): "installed" | "updated" {
  const existing = readExisting(file);
  if (existing !== null && !existing.includes(HOOK_MARKER)) {
    const run =
      script.split("\n").find((l) => l.includes("scan") && l.includes("exec ")) ?? "keyward scan --staged";
    throw new ScanError(
      `${file} already exists and was not written by keyward; not overwriting it. ` +
        `Add this line to it instead: ${run.trim().replace(/^exec /, "")} || exit $?`,
    );
  }
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, script, { mode: 0o755 });
  chmodSync(file, 0o755); // writeFileSync's mode applies only to new files
  return existing === null ? "installed" : "updated";
}

/** Removes the hook if it is keyward's; someone else's hook is left alone (an error). */
export function uninstallHook(file: string): "removed" | "absent" {
  const existing = readExisting(file);
  if (existing === null) return "absent";
  if (!existing.includes(HOOK_MARKER))
    throw new ScanError(`${file} was not written by keyward; leaving it alone`);
  rmSync(file);
  return "removed";
}
