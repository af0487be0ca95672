import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";

/**
 * Lowers the calling thread's CPU priority to `niceness` (0–19; higher yields more). For
 * background threads whose work may wait a few milliseconds — the SQLite writer — so that on a
 * busy machine the kernel runs the threads serving requests first instead of sharing cores
 * with them evenly.
 *
 * Linux only, where `nice` is a per-thread attribute and a thread's id is found through
 * /proc/thread-self. Elsewhere `setpriority` would change the whole process, so nothing is done.
 * Lowering one's own priority needs no privileges. Returns whether it was applied.
 */
export function lowerThreadPriority(niceness: number): boolean {
  if (process.platform !== "linux") return false;
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    if (!Number.isInteger(tid) || tid <= 0) return false;
    setPriority(tid, niceness);
    return true;
  } catch {
    return false; // no /proc (a sandbox): run at the normal priority
  }
}
