import { once } from "node:events";
import { gitSpawn } from "./git.js";
import type { Matcher } from "./matcher.js";
import { overLimit, type ScanLimits } from "./report.js";
import { DEFAULT_CHUNK_SIZE, StreamScanner, type StreamResult } from "./stream.js";

/** A blob to scan and the path it is known by. */
export interface BlobRef {
  sha: string;
  path: string;
}

/** What happened to one blob. */
export type BlobOutcome =
  | { kind: "scanned"; result: StreamResult }
  | { kind: "too_large"; size: number }
  /** Not a blob, or not in the object store (a partial or shallow clone). */
  | { kind: "missing" };

/**
 * Streams blobs out of one `git cat-file --batch` process and scans each as it arrives, in
 * bounded memory: a blob is never held whole, only the scanner's window. Object ids are
 * written as git consumes them (backpressure), and cat-file answers in input order, so a FIFO
 * of the refs in flight pairs each answer with its path.
 */
export async function scanBlobs(
  repo: string,
  refs: AsyncIterable<BlobRef>,
  matcher: Matcher,
  limits: ScanLimits,
  onBlob: (ref: BlobRef, outcome: BlobOutcome) => void,
): Promise<void> {
  const cat = gitSpawn(repo, ["cat-file", "--batch"]);
  const scanner = new StreamScanner(matcher, limits.chunkSize ?? DEFAULT_CHUNK_SIZE);
  const inFlight: BlobRef[] = [];
  const parser = new BatchParser(scanner, limits, (outcome) => {
    const ref = inFlight.shift();
    if (ref) onBlob(ref, outcome);
  });
  cat.stdout.on("data", (chunk: Buffer) => parser.push(chunk));

  const feed = async () => {
    const stdin = cat.child.stdin;
    // A dead cat-file surfaces through done(); EPIPE here must not crash the process.
    stdin.on("error", () => undefined);
    try {
      for await (const ref of refs) {
        inFlight.push(ref);
        if (!stdin.write(ref.sha + "\n")) await Promise.race([once(stdin, "drain"), cat.done()]);
      }
    } finally {
      // Also on failure: an open stdin would keep cat-file (and this process) alive.
      stdin.end();
    }
  };
  await Promise.all([feed(), cat.done()]);
  parser.finish();
}

/**
 * Parser for `cat-file --batch` output: `<sha> <type> <size>\n<content>\n` per object, or
 * `<sha> missing\n`. Content bytes go straight into the scanner.
 */
class BatchParser {
  private header = "";
  /** Bytes of the current object still to come; -1 while reading a header. */
  private remaining = -1;
  private size = 0;
  private type = "";
  private scanning = false;
  /** The newline after content is still to come. */
  private trailer = false;

  constructor(
    private readonly scanner: StreamScanner,
    private readonly limits: ScanLimits,
    private readonly emit: (o: BlobOutcome) => void,
  ) {}

  push(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.trailer) {
        i++; // the LF after the content
        this.trailer = false;
        continue;
      }
      if (this.remaining < 0) {
        const nl = chunk.indexOf(10, i);
        if (nl < 0) {
          this.header += chunk.toString("latin1", i);
          return;
        }
        this.header += chunk.toString("latin1", i, nl);
        i = nl + 1;
        this.startObject(this.header);
        this.header = "";
        continue;
      }
      const n = Math.min(this.remaining, chunk.length - i);
      if (this.scanning && !this.scanner.isBinary) this.scanner.write(chunk.subarray(i, i + n));
      this.remaining -= n;
      i += n;
      if (this.remaining === 0) this.endObject();
    }
  }

  finish(): void {
    if (this.remaining >= 0) throw new Error("git cat-file output ended inside an object");
  }

  private startObject(header: string): void {
    const [, type, sizeText] = header.split(" ");
    if (type === undefined || sizeText === undefined || type === "missing" || type === "ambiguous") {
      this.emit({ kind: "missing" });
      return;
    }
    this.type = type;
    this.size = Number(sizeText);
    this.scanning = type === "blob" && !overLimit(this.size, this.limits);
    if (this.scanning) this.scanner.reset();
    this.remaining = this.size;
    if (this.remaining === 0) this.endObject();
  }

  private endObject(): void {
    this.remaining = -1;
    this.trailer = true;
    if (this.scanning) this.emit({ kind: "scanned", result: this.scanner.end() });
    else if (this.type === "blob") this.emit({ kind: "too_large", size: this.size });
    else this.emit({ kind: "missing" });
  }
}
