import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { ScanError } from "../../scan/errors.js";
import { hookScript, installHook, preCommitPath, uninstallHook, type HookCommand } from "../../scan/hook.js";
import { CliError } from "../errors.js";
import { collect, usage } from "../parse.js";
import { resolveBrands } from "./scan.js";

interface HookFlags {
  uninstall?: boolean;
  command?: string;
  brand?: string[];
}

/**
 * This CLI's own launcher, bin/keyward.js: from dist/cli/commands/hook.js (or the .ts under
 * src/ when run through tsx) it is three directories up. Resolved through symlinks so the hook
 * keeps working when the package is linked (npm link, global installs).
 */
function ownLauncher(): string {
  const p = fileURLToPath(new URL("../../../bin/keyward.js", import.meta.url));
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/** `keyward hook install [--uninstall]`: the git pre-commit hook that runs `keyward scan --staged`. */
export function registerHook(program: Command): void {
  const hook = program.command("hook").description("git hooks that keep keys out of commits");
  hook
    .command("install")
    .description(
      "install a pre-commit hook in the current git repository that blocks commits whose staged changes contain a key",
    )
    .option("--uninstall", "remove the keyward pre-commit hook instead")
    .option(
      "--command <command>",
      "how the hook runs keyward, e.g. 'npx --no-install keyward' (default: this node and this keyward, by absolute path)",
    )
    .option(
      "--brand <brand>",
      "key brand the hook detects, repeatable (default: KEYWARD_KEY_PREFIX at commit time, or kw)",
      collect,
    )
    .action(async (flags: HookFlags) => {
      try {
        const file = await preCommitPath(".");
        if (flags.uninstall) {
          const r = uninstallHook(file);
          process.stdout.write(
            r === "removed" ? `removed keyward pre-commit hook ${file}\n` : `no pre-commit hook at ${file}\n`,
          );
          return;
        }
        if (flags.command !== undefined && flags.command.trim() === "")
          throw usage("--command: give a command");
        // Validate now, so a typo fails at install and not at every commit.
        const brands = flags.brand?.length ? resolveBrands(flags.brand, {}) : [];
        const command: HookCommand = flags.command
          ? { shell: flags.command.trim() }
          : { node: process.execPath, script: ownLauncher() };
        const r = installHook(
          file,
          hookScript(
            command,
            brands.flatMap((b) => ["--brand", b]),
          ),
        );
        process.stdout.write(
          `${r === "installed" ? "installed" : "updated"} keyward pre-commit hook ${file}\n` +
            `It runs: ${"shell" in command ? command.shell : `${command.node} ${command.script}`} scan --staged\n` +
            "Commits whose staged files contain a key are blocked; allowlist test fixtures by fingerprint in .keyward-allowlist.\n",
        );
      } catch (err) {
        if (err instanceof ScanError) throw new CliError(err.message, 2);
        throw err;
      }
    });
}
