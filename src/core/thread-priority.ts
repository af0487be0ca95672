import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";

/**
 * Lowers the scheduling priority (raises the nice value) of the calling thread only. For
 * background threads that must not take a core from the request-serving main thread: on Linux
 * a freshly woken thread tends to preempt the thread that woke it, so a writer thread woken by
 * every batch would otherwise stall the event loop for the length of its transaction.
 *
 * Linux only (`/proc/thread-self` names the thread's id, and setpriority() on a thread id
 * affects that thread alone); elsewhere, or when not permitted, it does nothing and says so.
 */
export function lowerThisThreadPriority(nice: number): boolean {
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    if (!Number.isInteger(tid) || tid <= 0) return false;
    setPriority(tid, nice);
    return true;
  } catch {
    return false;
  }
}
