import path from "node:path";
import { Option, type Command } from "commander";
import { ApiError } from "../../client/client.js";
import { ALLOWLIST_FILE, loadAllowlist } from "../../scan/allowlist.js";
import { defaultDetectors } from "../../scan/detectors.js";
import { ScanError } from "../../scan/errors.js";
import { exportRules, RULE_FORMATS, type RuleFormat } from "../../scan/export-rules.js";
import { workTreeRoot } from "../../scan/git.js";
import { DEFAULT_MAX_FILE_SIZE } from "../../scan/report.js";
import { runScan, type ScanTarget } from "../../scan/run.js";
import { toSarif } from "../../scan/sarif.js";
import { CliError } from "../errors.js";
import { collect, usage } from "../parse.js";
import { remoteClient } from "../remote.js";
import {
  renderBlocked,
  renderFindings,
  renderFingerprints,
  renderSkipped,
  renderSummary,
  toJson,
} from "../scan-output.js";
import { renderRevocations, revokeFindings, type Revocation } from "../scan-revoke.js";

interface ScanFlags {
  git?: boolean;
  staged?: boolean;
  gitignore: boolean;
  brand?: string[];
  maxFileSize: string;
  allowlist?: string;
  format?: "text" | "json" | "sarif";
  json?: boolean;
  sarif?: boolean;
  fingerprint?: boolean;
  verbose?: boolean;
  revoke?: boolean;
  report?: boolean;
  url?: string;
  adminKey?: string;
  exportRules?: RuleFormat;
}

/** Exit codes of `keyward scan` (and so of the pre-commit hook): documented in the README. */
export const SCAN_EXIT = { clean: 0, found: 1, error: 2 } as const;

const BRAND = /^[a-z][a-z0-9]{0,15}$/;

/** `--max-file-size`: bytes, or with a unit (k, M, G: powers of 1024); 0 = no limit. */
export function parseSize(value: string, flag: string): number {
  const m = /^(\d{1,12})\s*([kmg]?)i?b?$/i.exec(value.trim());
  if (!m) throw usage(`${flag}: "${value}" is not a size (e.g. 50M, 512k, 1G, 0 for no limit)`);
  const unit = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as "" | "k" | "m" | "g"];
  return Number(m[1]) * unit;
}

/** Brands from `--brand` (repeatable), else KEYWARD_KEY_PREFIX, else `kw`. */
export function resolveBrands(flags: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const brands = flags.length ? flags : env.KEYWARD_KEY_PREFIX ? [env.KEYWARD_KEY_PREFIX] : ["kw"];
  for (const b of brands)
    if (!BRAND.test(b))
      throw usage(
        `--brand / KEYWARD_KEY_PREFIX: "${b}" must be 1–16 lowercase letters/digits, starting with a letter`,
      );
  return [...new Set(brands)];
}

/** `keyward scan`: find keys in files, stdin, staged changes or git history. */
export function registerScan(program: Command): void {
  program
    .command("scan [paths...]")
    .description(
      "find keyward keys (checksum-verified) and provider keys in files, stdin (-), staged changes or git history; " +
        "exit 1 = found, 0 = clean, 2 = error",
    )
    .option("--git", "scan git history: every blob reachable from any ref, once (repo at PATH, default .)")
    .option("--staged", "scan only the staged changes (what the pre-commit hook runs)")
    .option(
      "--no-gitignore",
      "also scan files .gitignore excludes (default: inside a git work tree, skip them)",
    )
    .option("--brand <brand>", "key brand to detect, repeatable (default KEYWARD_KEY_PREFIX or kw)", collect)
    .option(
      "--max-file-size <size>",
      "skip files/blobs larger than this (e.g. 50M; 0 = no limit)",
      `${DEFAULT_MAX_FILE_SIZE / 1024 ** 2}M`,
    )
    .option(
      "--allowlist <file>",
      `fingerprint allowlist (default ${ALLOWLIST_FILE} at the repo root, or here)`,
    )
    .addOption(new Option("--format <format>", "output format").choices(["text", "json", "sarif"]))
    .option("--json", "same as --format json")
    .option("--sarif", "same as --format sarif (SARIF 2.1.0, for code-scanning UIs)")
    .option("--fingerprint", "print each finding as an allowlist line: <sha256>  # where")
    .option("-v, --verbose", "list skipped files (binary, too large, unreadable)")
    .option("--revoke", "revoke found keyward keys that are still active (needs an admin key)")
    .option("--report", "only report findings (the default)")
    .option("--url <url>", "server URL for --revoke (KEYWARD_URL, default http://127.0.0.1:8080)")
    .option("--admin-key <key>", "admin key for --revoke (KEYWARD_ADMIN_KEY)")
    .addOption(
      new Option("--export-rules <scanner>", "print a rule for another scanner and exit").choices(
        RULE_FORMATS,
      ),
    )
    .action(async (paths: string[], flags: ScanFlags) => {
      try {
        process.exitCode = await scanAction(paths, flags, program.version() ?? "0.0.0");
      } catch (err) {
        // Anything that stops the scan is exit 2, never 1: 1 means "a key was found".
        if (err instanceof CliError) throw err.exitCode === 2 ? err : new CliError(err.message, 2);
        if (err instanceof ScanError) throw new CliError(err.message, 2);
        if (err instanceof ApiError) throw new CliError(`${err.message} (${err.code})`, 2);
        throw new CliError(err instanceof Error ? err.message : String(err), 2);
      }
    });
}

async function scanAction(paths: string[], flags: ScanFlags, version: string): Promise<number> {
  const brands = resolveBrands(flags.brand ?? [], process.env);
  if (flags.exportRules) {
    process.stdout.write(exportRules(flags.exportRules, brands));
    return SCAN_EXIT.clean;
  }
  const format = outputFormat(flags);
  if (flags.revoke && flags.report) throw usage("--revoke and --report are opposites: pick one");
  if (flags.git && flags.staged) throw usage("--git and --staged are different scans: pick one");
  if ((flags.git || flags.staged) && paths.length > 1)
    throw usage(`--${flags.git ? "git" : "staged"} takes at most one path: the repository`);
  const maxFileSize = parseSize(flags.maxFileSize, "--max-file-size");
  // Needs an admin key: fail before scanning, not after minutes of work.
  const client = flags.revoke ? remoteClient({ url: flags.url, adminKey: flags.adminKey }) : null;

  const target: ScanTarget = flags.git
    ? { mode: "git", repo: paths[0] ?? "." }
    : flags.staged
      ? { mode: "staged", repo: paths[0] ?? "." }
      : {
          mode: "paths",
          paths: paths.length ? paths : ["."],
          gitignore: flags.gitignore,
          // Touch process.stdin only when asked to: creating it can keep the process waiting.
          ...(paths.includes("-") ? { stdin: process.stdin } : {}),
        };
  const allowFile = flags.allowlist ?? (await defaultAllowlist(target.mode === "paths" ? "." : target.repo));
  const allow = loadAllowlist(allowFile, flags.allowlist !== undefined);
  const detectors = defaultDetectors(brands);
  const result = await runScan(target, detectors, { maxFileSize }, allow);

  const revocations: Revocation[] | undefined = client
    ? await revokeFindings(result.findings, detectors, client)
    : undefined;
  const out = (s: string) => process.stdout.write(s.endsWith("\n") || s === "" ? s : s + "\n");
  const err = (s: string) => process.stderr.write(s + "\n");

  if (format === "json") out(JSON.stringify(toJson(result, target.mode, revocations), null, 2));
  else if (format === "sarif") out(JSON.stringify(toSarif(result.findings, detectors, { version }), null, 2));
  else {
    if (flags.fingerprint) out(renderFingerprints(result.findings));
    else if (result.findings.length) out(renderFindings(result.findings));
    if (flags.verbose && result.skipped.length) err(renderSkipped(result));
    err(renderSummary(result, { paths: "file", git: "blob", staged: "staged file" }[target.mode]));
    if (target.mode === "staged" && result.findings.length) err(renderBlocked(result.findings, detectors));
    if (revocations) out(renderRevocations(revocations, result.findings, detectors));
  }
  if (revocations?.some((r) => r.outcome === "error")) {
    if (format !== "text") err("keyward: some keys could not be revoked (see revocations in the output)");
    return SCAN_EXIT.error;
  }
  return result.findings.length ? SCAN_EXIT.found : SCAN_EXIT.clean;
}

function outputFormat(flags: ScanFlags): "text" | "json" | "sarif" {
  const asked = new Set<string>();
  if (flags.format) asked.add(flags.format);
  if (flags.json) asked.add("json");
  if (flags.sarif) asked.add("sarif");
  if (asked.size > 1) throw usage("choose one output format: --format, --json or --sarif");
  const format = ([...asked][0] ?? "text") as "text" | "json" | "sarif";
  if (flags.fingerprint && format !== "text")
    throw usage("--fingerprint prints text; it cannot be combined with JSON or SARIF");
  return format;
}

/** `.keyward-allowlist` at the root of the work tree containing `dir`, else in `dir`. */
async function defaultAllowlist(dir: string): Promise<string> {
  const root = await workTreeRoot(dir);
  return path.join(root ?? dir, ALLOWLIST_FILE);
}
