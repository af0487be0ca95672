import v8 from "node:v8";

/**
 * V8 collector settings for the long-running server, set by `serve` before anything else runs.
 *
 * Why: a gateway request allocates about 30 KB that dies within a millisecond, on top of a live
 * heap of about 20 MB (mostly code and the management API's schemas). V8's defaults are tuned
 * for scripts and browser tabs, and with them the gateway's latency tail was set by the collector
 * (bench/gateway-bench.ts; the measurements: docs/decisions/0004-v8-heap-tuning.md):
 * - V8 shrinks the young generation whenever the process idles and regrows it only 2× per step,
 *   so after a pause the gateway scavenged every ~0.1 s instead of every ~0.5 s, for minutes;
 * - each scavenge promotes what requests hold at that moment, and the old generation was let
 *   grow by only ~25% before a full mark-compact: one every 40–60 s at 1,000 req/s, each with
 *   12–20 ms of marking that held requests back on a 2-core machine (the 12–18 ms stalls that
 *   set the limits bench's p99).
 *
 * The young generation now regrows to its full size (16 MB semi-spaces) in one step, within
 * about a second of traffic, and the old generation may reach 4× its live size before a full
 * collection, which makes those rare at a steady rate (none in 3-minute drives at 1,000 req/s;
 * right after a burst of ~20,000 req/s they still come every ~30 s: decision 0004). The price is
 * memory: the heap may hold up to ~4× its live data (about 100 MB for a default setup) before it
 * is collected. `KEYWARD_HEAP_TUNING=false` keeps V8's defaults.
 *
 * Both flags are read by V8 each time it resizes the young generation or sets the next
 * collection limit, so setting them at run time takes effect (flags read only when the heap is
 * created, like the young generation's minimum size, could not be set from here).
 */
export const SERVER_HEAP_FLAGS = ["--semi-space-growth-factor=16", "--heap-growing-percent=300"] as const;

/** Applies {@link SERVER_HEAP_FLAGS}; returns them, for the start-up log line. */
export function tuneHeap(
  setFlag: (flag: string) => void = (flag) => v8.setFlagsFromString(flag),
): readonly string[] {
  for (const flag of SERVER_HEAP_FLAGS) setFlag(flag);
  return SERVER_HEAP_FLAGS;
}
