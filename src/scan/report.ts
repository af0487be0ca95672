import type { Finding } from "./finding.js";

/** Why a file or blob was not scanned. */
export type SkipReason = "binary" | "too_large" | "unreadable";

/** A file or blob left out, reported in verbose and JSON output so nothing is skipped silently. */
export interface Skipped {
  path: string;
  reason: SkipReason;
  /** Size in bytes, when known. */
  size?: number;
  /** Git mode: the blob id (a path can hold many blobs over history). */
  blob?: string;
  /** For `unreadable`: the error code (EACCES, …), never file content. */
  detail?: string;
}

/** What one scan produced, before the allowlist is applied. */
export interface ScanReport {
  findings: Finding[];
  skipped: Skipped[];
  /** Files (or blobs, in git and staged modes) actually scanned, and their total size. */
  scanned: { items: number; bytes: number };
}

/** An empty report to accumulate into. */
export function emptyReport(): ScanReport {
  return { findings: [], skipped: [], scanned: { items: 0, bytes: 0 } };
}

/** Options every scan mode shares. */
export interface ScanLimits {
  /** Files and blobs larger than this many bytes are skipped (reported); 0 = no limit. */
  maxFileSize: number;
  /** Window size of the stream scanner; tests make it tiny to exercise chunk boundaries. */
  chunkSize?: number;
}

/** Default size cap: larger files are nearly always data, logs or bundles of vendored code. */
export const DEFAULT_MAX_FILE_SIZE = 50 * 1024 * 1024;

/** True when a file of `size` bytes is over the cap. */
export function overLimit(size: number, limits: ScanLimits): boolean {
  return limits.maxFileSize > 0 && size > limits.maxFileSize;
}
