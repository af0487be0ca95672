import type { Command } from "commander";
import type { ConfigInput } from "../../config/config.js";

/** Flags for commands that open the store directly (`serve`, `init`). */
export interface StoreFlags {
  dataDir?: string;
  databaseUrl?: string;
}

export function storeFlags(cmd: Command): Command {
  return cmd
    .option("--data-dir <dir>", "SQLite data directory (KEYWARD_DATA_DIR, default ./data)")
    .option("--database-url <url>", "postgres:// URL (KEYWARD_DATABASE_URL) instead of SQLite");
}

export function storeOverrides(flags: StoreFlags): Partial<ConfigInput> {
  return {
    ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
    ...(flags.databaseUrl ? { databaseUrl: flags.databaseUrl } : {}),
  };
}
