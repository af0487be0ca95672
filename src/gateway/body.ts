import type { IncomingMessage } from "node:http";

/** Why a body could not be read. */
export type BodyProblem = "too_large" | "aborted";

/**
 * Reads the whole request body up to `limit` bytes. A declared Content-Length over the limit is
 * refused before reading a byte.
 *
 * With a Content-Length, the body is complete once that many bytes have arrived: it is handed on
 * from that `data` event rather than after `end`, which Node emits only after a further round of
 * stream bookkeeping (10 µs a request on the gateway's path, measured in the server). Node's
 * parser never delivers more than the declared length, so nothing can follow.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | BodyProblem> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > limit) return Promise.resolve("too_large");
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const whole = (): Buffer => (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    const finish = (v: Buffer | BodyProblem) => {
      if (done) return;
      done = true;
      resolve(v);
    };
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        finish("too_large");
        req.resume(); // drain and drop the rest
        return;
      }
      chunks.push(chunk);
      if (size === declared) finish(whole());
    });
    req.on("end", () => finish(whole()));
    req.on("aborted", () => finish("aborted"));
    req.on("error", () => finish("aborted"));
  });
}

/**
 * The values of every form field named `model` in a multipart body. Only part headers are
 * parsed (file contents are skipped over), so this is cheap even for large uploads.
 */
export function multipartModels(body: Buffer, contentType: string): string[] | null {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) return null;
  const delimiter = Buffer.from(`--${boundary.trim()}`);
  const models: string[] = [];
  let pos = body.indexOf(delimiter);
  while (pos !== -1) {
    const headerStart = pos + delimiter.length + 2; // skip CRLF after the delimiter
    const headerEnd = body.indexOf("\r\n\r\n", headerStart);
    if (headerEnd === -1) break;
    const next = body.indexOf(delimiter, headerEnd);
    if (next === -1) break;
    const headers = body.subarray(headerStart, headerEnd).toString("latin1");
    if (/content-disposition:[^\r\n]*;\s*name="?model"?(\s*;|\s*$|\r)/im.test(headers)) {
      models.push(body.subarray(headerEnd + 4, next - 2).toString("utf8"));
    }
    pos = next;
  }
  return models;
}
