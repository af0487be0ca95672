/**
 * A strict reader for HTTP/1.1 request heads, for the front (front.ts). It accepts one narrow,
 * unambiguous form and answers "other" for everything else, which the front then hands to
 * node:http unread: node's parser, not this one, decides what every unusual request means.
 * That split is what keeps request smuggling out. This reader never has to agree with node's
 * on an ambiguous message, because it takes none:
 *
 * - request line `METHOD SP /target SP HTTP/1.1 CRLF`: an upper-case method and an
 *   origin-form target of visible ASCII;
 * - header lines `name: value CRLF`: a token for the name, no space before the colon, no
 *   control characters in the value (no bare CR or LF, no obs-fold);
 * - every header name once at most, a `host`, and a body framed only by a plain decimal
 *   `content-length` (or none). Any `transfer-encoding`, `expect` or `upgrade` → "other".
 */

import { connectionTokens, readField } from "../../gateway/http1/fields.js";

/** A request head the front may serve itself. */
export interface RequestHead {
  method: string;
  /** Path and query, as sent. */
  target: string;
  /** Lower-case names, each once; no prototype, so any name is a plain key. */
  headers: Record<string, string>;
  /** Body bytes that follow the head (0 when there is no content-length). */
  bodyLength: number;
  /** False when the client sent `Connection: close`. */
  keepAlive: boolean;
  /** Bytes the head took, its blank line included. */
  size: number;
}

/** `incomplete`: more bytes needed. `other`: not for the front; node:http takes the connection. */
export type HeadRead = RequestHead | "incomplete" | "other";

const HEAD_END = Buffer.from("\r\n\r\n");
const VERSION = " HTTP/1.1";
const MAX_METHOD = 20;
/** Longest content-length taken: 15 digits stay an exact integer. */
const MAX_LENGTH_DIGITS = 15;

/** Headers whose presence sends the request to node:http. */
const DELEGATED = new Set(["transfer-encoding", "expect", "upgrade"]);

/**
 * Reads the request head at the start of `buf`. A head longer than `maxHeadBytes` is "other"
 * (node:http then answers 431 under its own limit).
 */
export function readRequestHead(
  buf: Buffer,
  maxHeadBytes: number,
  /** Where the head's blank line starts, when the caller already found it (HeadEndScanner). */
  end = buf.indexOf(HEAD_END),
): HeadRead {
  if (end === -1) return buf.length > maxHeadBytes ? "other" : "incomplete";
  if (end + 4 > maxHeadBytes) return "other";
  const head = buf.toString("latin1", 0, end);

  const lineEnd = head.indexOf("\r\n");
  const requestLine = lineEnd === -1 ? head : head.slice(0, lineEnd);
  const sp = requestLine.indexOf(" ");
  if (sp < 1 || sp > MAX_METHOD || !requestLine.endsWith(VERSION)) return "other";
  for (let i = 0; i < sp; i++) {
    const c = requestLine.charCodeAt(i);
    if (c < 0x41 || c > 0x5a) return "other";
  }
  const target = requestLine.slice(sp + 1, requestLine.length - VERSION.length);
  if (target.charCodeAt(0) !== 0x2f) return "other";
  for (let i = 1; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return "other";
  }

  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  const field: string[] = [];
  for (let pos = lineEnd === -1 ? head.length : lineEnd + 2; pos < head.length;) {
    let next = head.indexOf("\r\n", pos);
    if (next === -1) next = head.length;
    if (readField(head, pos, next, field) !== null) return "other";
    const name = field[0]!;
    if (name in headers || DELEGATED.has(name)) return "other";
    headers[name] = field[1]!;
    field.length = 0;
    pos = next + 2;
  }

  if (headers.host === undefined) return "other";
  let bodyLength = 0;
  const length = headers["content-length"];
  if (length !== undefined) {
    if (length.length === 0 || length.length > MAX_LENGTH_DIGITS) return "other";
    for (let i = 0; i < length.length; i++) {
      const c = length.charCodeAt(i);
      if (c < 0x30 || c > 0x39) return "other";
    }
    bodyLength = Number(length);
  }
  const connection = connectionTokens(headers.connection);
  if (connection.has("upgrade")) return "other";
  const keepAlive = !connection.has("close");
  return { method: requestLine.slice(0, sp), target, headers, bodyLength, keepAlive, size: end + 4 };
}

/**
 * Tells, chunk by chunk, whether a head's blank line has arrived, without joining the chunks:
 * a client that sends its head a byte at a time costs a few bytes of work per byte, not a copy
 * of everything so far (which would make 16 KiB of dribble cost 128 MB of copying).
 */
export class HeadEndScanner {
  /** Where the blank line starts in what was pushed since the last reset, or -1. */
  at = -1;
  /** Bytes pushed since the last reset. */
  private seen = 0;
  /** The last bytes pushed, for a blank line split across chunks. */
  private tail: Buffer | null = null;

  get found(): boolean {
    return this.at !== -1;
  }

  /** Starts over with `rest` (bytes left after a request) as what was pushed. */
  reset(rest: Buffer | null): void {
    this.at = -1;
    this.seen = 0;
    this.tail = null;
    if (rest) this.push(rest);
  }

  push(chunk: Buffer): boolean {
    if (this.at !== -1) return true;
    const probe = this.tail ? Buffer.concat([this.tail, chunk]) : chunk;
    const found = probe.indexOf(HEAD_END);
    const start = this.seen - (this.tail?.length ?? 0);
    this.seen += chunk.length;
    if (found !== -1) {
      this.at = start + found;
      this.tail = null;
      return true;
    }
    this.tail = Buffer.from(probe.subarray(Math.max(0, probe.length - (HEAD_END.length - 1))));
    return false;
  }
}
