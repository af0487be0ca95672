import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { Pool } from "undici";
import { freePort, KEYWARD_BIN } from "./processes.js";

const run = promisify(execFile);

/** One real `keyward serve` process. */
export interface ServeProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr. */
  output(): string;
  /** Resolves with the exit code (or signal) once it has exited. */
  exited: Promise<number | string | null>;
}

/** `keyward init --json` against `env`'s store: the first admin key. */
export async function initStore(env: NodeJS.ProcessEnv): Promise<string> {
  const out = await run("node", [KEYWARD_BIN, "init", "--json"], { env });
  return (JSON.parse(out.stdout) as { admin_key: string }).admin_key;
}

/** Starts `keyward serve` on a free port (or `port`) and waits until /readyz answers 200. */
export async function startServe(env: NodeJS.ProcessEnv, port?: number): Promise<ServeProcess> {
  const p = port ?? (await freePort());
  const child = spawn("node", [KEYWARD_BIN, "serve", "--port", String(p)], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | string | null>((resolve) =>
    child.on("exit", (code, signal) => resolve(code ?? signal)),
  );
  const url = `http://127.0.0.1:${p}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`keyward serve exited at start:\n${output}`);
    const res = await fetch(`${url}/readyz`).catch(() => null);
    if (res?.status === 200) break;
    if (Date.now() > deadline) throw new Error(`keyward serve not ready within 30 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, port: p, child, output: () => output, exited };
}

/** Stops a serve process (SIGTERM, then SIGKILL if it lingers) and waits for it. */
export async function stopServe(s: ServeProcess): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  s.child.kill("SIGTERM");
  const t = setTimeout(() => s.child.kill("SIGKILL"), 20_000);
  await s.exited;
  clearTimeout(t);
}

/** A gateway call's outcome as a client sees it. */
export interface CallResult {
  status: number;
  code: string | null;
}

/**
 * Sends chat completions spread round-robin over `urls`, `concurrency` at a time, and returns
 * each one's status and error code (a connection failure is status 0).
 */
export async function spread(
  pools: Pool[],
  key: string,
  total: number,
  concurrency: number,
  body: string,
  headers: Record<string, string> = {},
): Promise<CallResult[]> {
  const results: CallResult[] = [];
  let next = 0;
  const one = async () => {
    while (next < total) {
      const i = next++;
      try {
        const res = await pools[i % pools.length]!.request({
          path: "/v1/chat/completions",
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
          body,
        });
        const text = await res.body.text();
        let code: string | null = null;
        if (res.statusCode !== 200)
          code = (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? null;
        results.push({ status: res.statusCode, code });
      } catch {
        results.push({ status: 0, code: null });
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, one));
  return results;
}

/** A connection pool per replica, with timeouts so a dead replica fails a call instead of hanging it. */
export function poolsFor(replicas: ServeProcess[], connections: number): Pool[] {
  return replicas.map((r) => new Pool(r.url, { connections, headersTimeout: 30_000, bodyTimeout: 30_000 }));
}
