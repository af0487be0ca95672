import { createServer } from "node:net";
import type { TestStore } from "./harness.js";

/** The built CLI, as a user runs it. */
export const KEYWARD_BIN = new URL("../../bin/keyward.js", import.meta.url).pathname;

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** The store settings as environment for a child process (a PostgreSQL schema via the URL). */
export function storeEnv(store: TestStore): Record<string, string> {
  if (store.dialect === "sqlite") return { KEYWARD_DATA_DIR: store.dataDir };
  const url = new URL(store.databaseUrl!);
  url.searchParams.set("options", `-c search_path=${store.pgSchema}`);
  return { KEYWARD_DATA_DIR: store.dataDir, KEYWARD_DATABASE_URL: url.toString() };
}
