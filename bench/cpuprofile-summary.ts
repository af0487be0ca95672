/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`, e.g. `BENCH_PROFILE=1 npm run
 * bench:gateway`): where the CPU time went, by area (keyward's own code, node:http internals,
 * undici, pino, SQLite, GC, …), by function (self time) and by keyward function (inclusive).
 *
 *   npx tsx bench/cpuprofile-summary.ts bench/results/keyward-gateway-….cpuprofile [--top 25]
 *       [--stalls recorder.js] [--stalls executeQuery]   (how long those held the event loop)
 */
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  byArea: Array<[string, number]>;
  selfByFunction: Array<[string, number]>;
  inclusiveKeyward: Array<[string, number]>;
}

/** Which part of the process a frame belongs to. */
export function area(f: CallFrame): string {
  const u = f.url;
  if (!u) {
    if (f.functionName === "(garbage collector)") return "GC";
    if (f.functionName === "(idle)") return "idle";
    if (f.functionName === "(program)") return "(program: native, not attributed)";
    return `native: ${f.functionName || "(anonymous)"}`;
  }
  if (u.startsWith("node:")) {
    const m = /^node:(?:internal\/)?([a-z_]+)/.exec(u);
    return `node:${m?.[1] ?? u}`;
  }
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u);
  if (nm) return nm[1]!;
  const src = /\/(?:dist|src)\/([a-z_-]+)\//.exec(u);
  if (src) return `keyward ${src[1]}/`;
  return u;
}

const label = (f: CallFrame): string => {
  const file = f.url.replace(/^.*\/(node_modules\/|dist\/|src\/)/, "$1").replace(/^file:\/\//, "");
  return `${f.functionName || "(anonymous)"} ${file ? `${file}:${f.lineNumber + 1}` : ""}`.trim();
};

export function summarise(profile: CpuProfile): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  const incl = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const node = byId.get(id)!;
    const a = area(node.callFrame);
    if (a === "idle") {
      idle += us;
      continue;
    }
    total += us;
    areas.set(a, (areas.get(a) ?? 0) + us);
    const l = label(node.callFrame);
    fns.set(l, (fns.get(l) ?? 0) + us);
    // Inclusive time of keyward's own functions: each distinct one on the stack, once.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      if (!area(f).startsWith("keyward ")) continue;
      const k = label(f);
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + us);
    }
  }
  const sorted = (m: Map<string, number>): Array<[string, number]> =>
    [...m.entries()].map(([k, v]): [string, number] => [k, v / 1000]).sort((a, b) => b[1] - a[1]);
  return {
    totalMs: total / 1000,
    idleMs: idle / 1000,
    byArea: sorted(areas),
    selfByFunction: sorted(fns),
    inclusiveKeyward: sorted(incl),
  };
}

/**
 * Stalls: runs of consecutive samples whose stack contains `match` (in a function name or file
 * URL), e.g. "recorder.js" — how long the event loop was held at a stretch. Longest first (ms).
 */
export function stalls(profile: CpuProfile, match: string): number[] {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const hitCache = new Map<number, boolean>();
  const hit = (id: number): boolean => {
    const cached = hitCache.get(id);
    if (cached !== undefined) return cached;
    const f = byId.get(id)!.callFrame;
    const p = parent.get(id);
    const v = f.url.includes(match) || f.functionName.includes(match) || (p !== undefined && hit(p));
    hitCache.set(id, v);
    return v;
  };
  const runs: number[] = [];
  let cur = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    // timeDeltas[i + 1] is the time until the next sample: the span this sample stands for.
    if (hit(profile.samples[i]!)) cur += (profile.timeDeltas[i + 1] ?? 0) / 1000;
    else if (cur > 0) {
      runs.push(cur);
      cur = 0;
    }
  }
  if (cur > 0) runs.push(cur);
  return runs.sort((a, b) => b - a);
}

export function formatSummary(s: ProfileSummary, top = 25): string {
  const out: string[] = [];
  const pct = (ms: number): string => `${((ms / s.totalMs) * 100).toFixed(1).padStart(5)}%`;
  out.push(`busy ${s.totalMs.toFixed(0)} ms, idle ${s.idleMs.toFixed(0)} ms`);
  out.push("\nby area (self time):");
  for (const [k, ms] of s.byArea.slice(0, top))
    out.push(`  ${pct(ms)}  ${ms.toFixed(0).padStart(7)} ms  ${k}`);
  out.push("\nby function (self time):");
  for (const [k, ms] of s.selfByFunction.slice(0, top))
    out.push(`  ${pct(ms)}  ${ms.toFixed(0).padStart(7)} ms  ${k}`);
  out.push("\nkeyward functions (inclusive: themselves and everything they call):");
  for (const [k, ms] of s.inclusiveKeyward.slice(0, top))
    out.push(`  ${pct(ms)}  ${ms.toFixed(0).padStart(7)} ms  ${k}`);
  return out.join("\n");
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const file = process.argv[2];
  if (!file) {
    console.error(
      "usage: npx tsx bench/cpuprofile-summary.ts <file.cpuprofile> [--top N] [--stalls <function or file>]…",
    );
    process.exit(2);
  }
  const i = process.argv.indexOf("--top");
  const top = i > 0 ? Number(process.argv[i + 1]) || 25 : 25;
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  console.log(formatSummary(summarise(profile), top));
  for (let j = 0; j < process.argv.length; j++) {
    if (process.argv[j] !== "--stalls") continue;
    const match = process.argv[j + 1] ?? "";
    const runs = stalls(profile, match);
    const total = runs.reduce((a, b) => a + b, 0);
    console.log(
      `\nstalls in "${match}": ${runs.length} runs, ${total.toFixed(0)} ms in all, median ${(runs[runs.length >> 1] ?? 0).toFixed(2)} ms, longest ${runs
        .slice(0, 10)
        .map((x) => x.toFixed(1))
        .join(", ")} ms`,
    );
  }
}
