import { Transform, type TransformCallback } from "node:stream";

/**
 * Replaces every occurrence of `secret` in a byte stream with `mask`, also when an occurrence is
 * split across chunks (as `op run` does for the child's output). Only the longest tail of the
 * data seen so far that could still begin the secret is held back, so output that cannot be
 * part of the secret passes through at once, and whatever is held is written at the end.
 */
export class SecretMask extends Transform {
  private readonly secret: Buffer;
  private readonly mask: Buffer;
  private held: Buffer = Buffer.alloc(0);

  constructor(secret: string, mask: string) {
    super();
    if (secret.length === 0) throw new Error("nothing to mask");
    this.secret = Buffer.from(secret);
    this.mask = Buffer.from(mask);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const data = this.held.length ? Buffer.concat([this.held, chunk]) : chunk;
    const parts: Buffer[] = [];
    let from = 0;
    for (let at = data.indexOf(this.secret); at !== -1; at = data.indexOf(this.secret, from)) {
      parts.push(data.subarray(from, at), this.mask);
      from = at + this.secret.length;
    }
    const keep = this.partialAtEnd(data, from);
    parts.push(data.subarray(from, data.length - keep));
    this.held = Buffer.from(data.subarray(data.length - keep));
    const out = Buffer.concat(parts);
    if (out.length) this.push(out);
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.held.length) this.push(this.held);
    this.held = Buffer.alloc(0);
    done();
  }

  /** Length of the longest suffix of data[from..] that is a proper prefix of the secret. */
  private partialAtEnd(data: Buffer, from: number): number {
    const max = Math.min(this.secret.length - 1, data.length - from);
    for (let n = max; n > 0; n--) {
      if (data.compare(this.secret, 0, n, data.length - n, data.length) === 0) return n;
    }
    return 0;
  }
}
