import type { Detector } from "./detectors.js";
import type { Matcher } from "./matcher.js";

/** Bytes scanned per window (plus the overlap). 1 MiB keeps reads few and memory flat. */
export const DEFAULT_CHUNK_SIZE = 1 << 20;
/** A NUL byte in this many leading bytes marks content as binary (git's own heuristic). */
export const BINARY_SNIFF_BYTES = 8192;

/** A secret found in a stream, with its 1-based line and column. */
export interface StreamHit {
  detector: Detector;
  secret: string;
  /** Byte offset of the secret's first character. */
  offset: number;
  line: number;
  /** 1-based, in UTF-16 code units of the line decoded as UTF-8 (SARIF's default column kind). */
  column: number;
}

/** What one stream produced. */
export interface StreamResult {
  /** True when the content is binary: it was not scanned and `hits` is empty. */
  binary: boolean;
  bytes: number;
  hits: StreamHit[];
}

const NON_ASCII = /[\x80-\xff]/;

/**
 * How far a column in UTF-16 units differs from the byte distance for text[a, b), where each
 * char is one byte (latin1): continuation bytes add no unit, a 4-byte sequence adds two.
 */
function utf16Correction(text: string, a: number, b: number): number {
  if (b <= a) return 0;
  const s = text.slice(a, b);
  if (!NON_ASCII.test(s)) return 0;
  let c = 0;
  for (let i = 0; i < s.length; i++) {
    const x = s.charCodeAt(i);
    if (x >= 0x80 && x < 0xc0) c--;
    else if (x >= 0xf0 && x < 0xf8) c++;
  }
  return c;
}

/**
 * Scans a byte stream of any size in bounded memory: bytes are collected into a window of
 * `chunkSize + overlap` bytes; each full window is decoded as latin1 (one char per byte, so
 * offsets are byte offsets and any byte sequence decodes) and searched; the last `overlap`
 * bytes are kept for the next window. The overlap is the longest secret plus one character of
 * context on each side, and every window only reports secrets that START in the part of it it
 * owns, so a secret across a chunk boundary is found exactly once, with the same boundary
 * checks a scan of the whole text would make.
 *
 * Reusable: `reset()` between streams keeps the window buffer.
 */
export class StreamScanner {
  private readonly overlap: number;
  private readonly capacity: number;
  private window: Buffer | null = null;
  private filled = 0;
  /** Global byte offset of window[0]. */
  private base = 0;
  /** Window-relative index from which matches are still unreported. */
  private ownStart = 0;
  private total = 0;
  private binary = false;
  private hits: StreamHit[] = [];
  // Line/column bookkeeping (global offsets).
  private line = 1;
  private lineStart = 0;
  private linesCountedTo = 0;
  /** UTF-16 correction for [lineStart, correctedTo) of the current line. */
  private correction = 0;
  private correctedTo = 0;

  constructor(
    private readonly matcher: Matcher,
    private readonly chunkSize = DEFAULT_CHUNK_SIZE,
  ) {
    if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new Error("StreamScanner: bad chunkSize");
    this.overlap = matcher.maxLength + 2;
    this.capacity = chunkSize + this.overlap;
  }

  /** Forgets the previous stream (keeps the allocated window). */
  reset(): void {
    this.filled = 0;
    this.base = 0;
    this.ownStart = 0;
    this.total = 0;
    this.binary = false;
    this.hits = [];
    this.line = 1;
    this.lineStart = 0;
    this.linesCountedTo = 0;
    this.correction = 0;
    this.correctedTo = 0;
  }

  /** True once the content is known to be binary: callers may stop reading. */
  get isBinary(): boolean {
    return this.binary;
  }

  /** Feeds the next bytes of the stream. */
  write(chunk: Uint8Array): void {
    if (this.binary || chunk.length === 0) return;
    const buf = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.total < BINARY_SNIFF_BYTES) {
      const n = Math.min(buf.length, BINARY_SNIFF_BYTES - this.total);
      if (buf.subarray(0, n).indexOf(0) >= 0) {
        this.binary = true;
        this.total += buf.length;
        return;
      }
    }
    this.total += buf.length;
    const window = (this.window ??= Buffer.allocUnsafe(this.capacity));
    let off = 0;
    while (off < buf.length) {
      const n = Math.min(this.capacity - this.filled, buf.length - off);
      buf.copy(window, this.filled, off, off + n);
      this.filled += n;
      off += n;
      if (this.filled === this.capacity) this.flush(false);
    }
  }

  /** Ends the stream and returns what was found. */
  end(): StreamResult {
    if (!this.binary && this.filled > 0) this.flush(true);
    const result = { binary: this.binary, bytes: this.total, hits: this.binary ? [] : this.hits };
    this.hits = [];
    return result;
  }

  private flush(last: boolean): void {
    const window = this.window!;
    const text = window.toString("latin1", 0, this.filled);
    // A non-final window owns starts up to where the longest secret plus its right-boundary
    // character still fits; later starts are left to the next window.
    const ownEnd = last ? this.filled : this.filled - this.overlap + 1;
    this.matcher.find(text, this.ownStart, ownEnd, (m) => {
      const offset = this.base + m.index;
      this.countLines(text, offset);
      const from = Math.max(this.lineStart, this.correctedTo) - this.base;
      const column = offset - this.lineStart + this.correction + utf16Correction(text, from, m.index) + 1;
      this.hits.push({ detector: m.detector, secret: m.secret, offset, line: this.line, column });
    });
    if (last) return;
    const ownEndGlobal = this.base + ownEnd;
    this.countLines(text, ownEndGlobal);
    this.correction += utf16Correction(text, Math.max(this.lineStart, this.correctedTo) - this.base, ownEnd);
    this.correctedTo = ownEndGlobal;
    // Keep one character before the next owned start (for the left boundary) and the rest.
    const keepFrom = ownEnd - 1;
    window.copyWithin(0, keepFrom, this.filled);
    this.filled -= keepFrom;
    this.base += keepFrom;
    this.ownStart = 1;
  }

  /** Advances the line count over [linesCountedTo, to) of the stream. */
  private countLines(text: string, to: number): void {
    let i = this.linesCountedTo - this.base;
    const end = to - this.base;
    for (;;) {
      const nl = text.indexOf("\n", i);
      if (nl < 0 || nl >= end) break;
      this.line++;
      this.lineStart = this.base + nl + 1;
      this.correction = 0;
      this.correctedTo = this.lineStart;
      i = nl + 1;
    }
    this.linesCountedTo = to;
  }
}
