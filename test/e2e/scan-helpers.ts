import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { fakeKeywardKey, fakeProviderKey, lookAlikeKey } from "../support/secrets.js";

/**
 * Shared by the scan and hook end-to-end tests: the built CLI as a child process, real git in
 * temp repos (identity and config isolated from the developer's), and a generated corpus.
 */

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const BIN = path.join(ROOT, "bin", "keyward.js");

/** Fails loudly when dist/ is missing: these tests run the CLI as users do. */
export function requireBuild(): void {
  if (!existsSync(path.join(ROOT, "dist", "cli", "main.js")))
    throw new Error("dist/ is missing: run `npm run build` before this test");
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * An environment for git and the CLI that ignores the developer's global git config (a
 * `commit.gpgsign` or hooksPath there would change what the tests see) and never reads their
 * KEYWARD_* settings.
 */
export function isolatedEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "",
    HOME: home,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: path.join(home, "no-global-gitconfig"),
    GIT_AUTHOR_NAME: "Test",
    GIT_AUTHOR_EMAIL: "test@example.com",
    GIT_COMMITTER_NAME: "Test",
    GIT_COMMITTER_EMAIL: "test@example.com",
    KEYWARD_CLI_CONFIG: path.join(home, "no-cli.json"),
    ...extra,
  };
}

/** Runs a command to completion, never throwing: exit code, stdout, stderr. */
export function run(
  file: string,
  args: string[],
  opts: { cwd: string; env: Record<string, string>; input?: string; timeout?: number },
): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { cwd: opts.cwd, env: opts.env, timeout: opts.timeout ?? 60_000, maxBuffer: 256 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(opts.input ?? "");
  });
}

/** The built CLI. */
export function keyward(
  args: string[],
  cwd: string,
  env: Record<string, string>,
  input?: string,
): Promise<Run> {
  return run(process.execPath, [BIN, ...args], { cwd, env, ...(input !== undefined ? { input } : {}) });
}

/** Synchronous git for test setup; fails the test on error. */
export function gitSync(cwd: string, env: Record<string, string>, ...args: string[]): string {
  return execFileSync("git", args, { cwd, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
}

/** A planted secret and exactly where a correct scanner must report it. */
export interface Planted {
  secret: string;
  detector: string;
  path: string;
  line: number;
  column: number;
}

/** What the corpus builder wrote. */
export interface Corpus {
  planted: Planted[];
  /** Wrong-checksum look-alikes (and keys glued into longer tokens): must never be reported. */
  lookAlikes: string[];
  files: number;
  bytes: number;
}

const WORDS =
  "the of and to in is it for on with as was at by an be this from or have not are but key token".split(" ");

function prose(rand: () => number, words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(WORDS[Math.floor(rand() * WORDS.length)]!);
  return out.join(" ");
}

/** A small deterministic PRNG (mulberry32): the corpus layout is reproducible, the keys are not. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Kind = "keyward" | "provider";
const PROVIDERS: Array<[string, () => string]> = [
  ["openai-api-key", fakeProviderKey.openaiProject],
  ["openai-api-key", fakeProviderKey.openaiLegacy],
  ["openai-admin-key", fakeProviderKey.openaiAdmin],
  ["anthropic-api-key", fakeProviderKey.anthropic],
  ["github-token", fakeProviderKey.github],
  ["aws-access-key-id", fakeProviderKey.aws],
  ["stripe-secret-key", fakeProviderKey.stripe],
];

/**
 * Writes `fileCount` files under `dir` (nested directories; text, JSON, YAML, .env and
 * minified JS), planting unique valid keys and look-alikes at recorded positions, plus a few
 * binary files, and two files larger than the scanner's 1 MiB window with keys placed across
 * the window boundary.
 */
export function buildCorpus(dir: string, fileCount: number, seed = 42): Corpus {
  const rand = prng(seed);
  const corpus: Corpus = { planted: [], lookAlikes: [], files: 0, bytes: 0 };
  const secret = (kind: Kind): [string, string] => {
    if (kind === "provider") {
      const [id, make] = PROVIDERS[Math.floor(rand() * PROVIDERS.length)]!;
      return [id, make()];
    }
    const k = (["live", "test", "admin"] as const)[Math.floor(rand() * 3)]!;
    return [`keyward-${k}-key`, fakeKeywardKey(k)];
  };
  const lookAlike = (): string => {
    const fake =
      rand() < 0.8
        ? lookAlikeKey((["live", "test", "admin"] as const)[Math.floor(rand() * 3)]!)
        : `x${fakeKeywardKey()}`;
    corpus.lookAlikes.push(fake);
    return fake;
  };

  /**
   * Writes lines; placeholders become a planted secret (`{S}`), a keyward live key (`{K}`, fixed
   * length 46, so positions can be computed before filling in) or a look-alike (`{L}`). They
   * are filled left to right, so each recorded column accounts for everything before it.
   */
  const writeLines = (rel: string, lines: string[]) => {
    const out: string[] = [];
    lines.forEach((template, i) => {
      let line = template;
      for (let m = /\{[SKL]\}/.exec(line); m !== null; m = /\{[SKL]\}/.exec(line)) {
        let s: string;
        if (m[0] === "{L}") s = lookAlike();
        else {
          const [id, value] =
            m[0] === "{K}"
              ? ["keyward-live-key", fakeKeywardKey("live")]
              : secret(rand() < 0.7 ? "keyward" : "provider");
          s = value;
          corpus.planted.push({ secret: s, detector: id, path: rel, line: i + 1, column: m.index + 1 });
        }
        line = line.slice(0, m.index) + s + line.slice(m.index + 3);
      }
      out.push(line);
    });
    put(rel, out.join("\n") + "\n");
  };
  const put = (rel: string, data: string | Buffer) => {
    const full = path.join(dir, rel);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, data);
    corpus.files++;
    corpus.bytes += Buffer.byteLength(data);
  };

  for (let i = 0; i < fileCount; i++) {
    const sub = `pkg${i % 17}/mod${i % 5}`;
    const plant = rand() < 0.35;
    const decoy = rand() < 0.3;
    switch (i % 5) {
      case 0: {
        const lines = Array.from({ length: 5 + Math.floor(rand() * 40) }, () => prose(rand, 12));
        if (plant) lines[Math.floor(rand() * lines.length)] = `the key is {S} (do not share)`;
        if (decoy) lines[Math.floor(rand() * lines.length)] = `not a key: {L}`;
        writeLines(`${sub}/notes-${i}.txt`, lines);
        break;
      }
      case 1: {
        const lines = ["{", `  "name": "svc-${i}",`, `  "description": "${prose(rand, 8)}",`];
        if (plant) lines.push(`  "apiKey": "{S}",`);
        if (decoy) lines.push(`  "example": "{L}",`);
        lines.push(`  "n": ${i}`, "}");
        writeLines(`${sub}/config-${i}.json`, lines);
        break;
      }
      case 2: {
        const lines = [`service: svc-${i}`, "env:", `  LOG_LEVEL: info`];
        if (plant) lines.push(`  OPENAI_API_KEY: '{S}'`);
        if (decoy) lines.push(`  SAMPLE: {L}`);
        lines.push(`  COMMENT: ${prose(rand, 6)}`);
        writeLines(`${sub}/deploy-${i}.yaml`, lines);
        break;
      }
      case 3: {
        // Minified JS: one long line, secrets mid-line.
        const parts = Array.from({ length: 30 }, (_, j) => `var a${j}="${prose(rand, 3)}";`);
        if (plant) parts.splice(10, 0, `var k="{S}";`, `function f(){return"{S}"}`);
        if (decoy) parts.splice(5, 0, `var d="{L}";`);
        writeLines(`${sub}/bundle-${i}.min.js`, [parts.join("")]);
        break;
      }
      default: {
        const lines = ["# local settings", `PORT=${3000 + i}`];
        if (plant) lines.push("KEYWARD_KEY={S}");
        if (decoy) lines.push("KEYWARD_KEY_OLD={L}");
        writeLines(`${sub}/settings-${i}.env`, lines);
      }
    }
  }

  // Binary files holding keys: skipped, so never reported (and not in `planted`).
  for (let i = 0; i < 5; i++)
    put(
      `assets/blob-${i}.bin`,
      Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0]), Buffer.from(fakeKeywardKey())]),
    );

  // Large files, more than the scanner's 1 MiB read: a key across the read boundary, and keys
  // at the very start and end of a one-line minified file; in a log, keys deep in the file.
  const cut = (1 << 20) - 23 - 47;
  const filler = "x=1;".repeat((1 << 20) / 4);
  writeLines("big/minified.js", ["{K};" + filler.slice(0, cut) + "{K};" + filler + "{K}"]);
  const log = Array.from({ length: 30_000 }, () => prose(rand, 10));
  log[2048] = "{S} at the start of a line";
  log[log.length - 1] = "last: {S}";
  writeLines("big/log.txt", log);
  return corpus;
}
