import { connectionTokens, readField } from "./fields.js";

/**
 * Response headers as received: a flat list `[name, value, name, value, …]` with lower-case
 * names, in the upstream's order, repeated names kept. Flat because Node's `writeHead` takes the
 * same shape, so a relayed head is never turned into an object and back.
 */
export type ResponseHeaders = string[];

/** The value of a header, repeated fields joined by ", " (RFC 9110 §5.3); undefined if absent. */
export function headerValue(headers: ResponseHeaders, name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] === name) value = value === undefined ? headers[i + 1]! : `${value}, ${headers[i + 1]!}`;
  }
  return value;
}

/** Where a parser delivers one response (its end is `done`, read after each `push`). */
export interface ResponseSink {
  onHead(status: number, headers: ResponseHeaders): void;
  onBody(chunk: Buffer): void;
}

/** The upstream sent something that is not an HTTP/1.1 response. */
export class MalformedResponseError extends Error {
  override readonly name = "MalformedResponseError";
}

/** Largest response head (status line and headers) and largest trailer section accepted. */
const MAX_HEAD_BYTES = 64 * 1024;
/** Longest chunk-size line (size plus extensions) accepted. */
const MAX_CHUNK_LINE = 4 * 1024;
const CR = 13;
const LF = 10;
const CRLFCRLF = Buffer.from("\r\n\r\n", "latin1");
const HEX_SIZE = /^[0-9A-Fa-f]{1,12}$/;

type State = "head" | "length" | "size" | "data" | "data-crlf" | "trailers" | "until-close" | "done";

/**
 * An incremental HTTP/1.1 response parser (RFC 9112) for one connection, reset for each
 * exchange. Bytes go in as they arrive, split anywhere; the sink hears the head (1xx interim
 * responses skipped) and body bytes with the framing removed (slices of the input, not copies);
 * `done` tells the end of the message. Framing: no body for HEAD, 204 and 304; chunked when it is the final
 * transfer coding; otherwise Content-Length; otherwise the body runs until the connection closes.
 * Anything else — an obsolete folded header, conflicting lengths, a bad chunk size, a head over
 * 64 KiB — is a MalformedResponseError: a proxy that guessed would hand clients a corrupt body.
 */
export class ResponseParser {
  private sink: ResponseSink | null = null;
  private headRequest = false;
  private state: State = "done";
  /** Bytes of a head, chunk-size line or trailer section not yet complete. */
  private pending: Buffer | null = null;
  /** Body bytes still expected: of the Content-Length body, or of the current chunk. */
  private remaining = 0;
  private reusable = false;
  private keepAliveSeconds: number | null = null;
  private started = false;

  /** Prepares for the next response (`headRequest`: the request was HEAD, so no body follows). */
  reset(sink: ResponseSink, headRequest: boolean): void {
    this.sink = sink;
    this.headRequest = headRequest;
    this.state = "head";
    this.pending = null;
    this.remaining = 0;
    this.reusable = false;
    this.keepAliveSeconds = null;
    this.started = false;
  }

  /** True once any byte of this response arrived. */
  get receivedAny(): boolean {
    return this.started;
  }

  /** True when the response is complete. */
  get done(): boolean {
    return this.state === "done";
  }

  /** After completion: may the connection carry another request? */
  get keepAlive(): boolean {
    return this.reusable;
  }

  /** After the head: the `timeout=` seconds of the response's Keep-Alive header, if it had one. */
  get keepAliveTimeoutSeconds(): number | null {
    return this.keepAliveSeconds;
  }

  /**
   * Feeds bytes. Returns the number of bytes that follow the end of the response in `data`
   * (with one request at a time there should be none; the caller then closes the connection).
   */
  push(data: Buffer): number {
    if (data.length > 0) this.started = true;
    let at = 0;
    while (at < data.length) {
      switch (this.state) {
        case "head":
          at = this.readHead(data, at);
          break;
        case "length":
          at = this.deliverRemaining(data, at);
          if (this.remaining === 0) this.state = "done";
          break;
        case "size":
          at = this.readSizeLine(data, at);
          break;
        case "data":
          at = this.deliverRemaining(data, at);
          if (this.remaining === 0) {
            this.state = "data-crlf";
            this.remaining = 2;
          }
          break;
        case "data-crlf": {
          // The CRLF after a chunk's data, possibly split across reads.
          const expected = this.remaining === 2 ? CR : LF;
          if (data[at] !== expected) throw new MalformedResponseError("chunk data not followed by CRLF");
          at++;
          if (--this.remaining === 0) this.state = "size";
          break;
        }
        case "trailers":
          at = this.readTrailers(data, at);
          break;
        case "until-close":
          this.deliver(data, at, data.length);
          at = data.length;
          break;
        case "done":
          return data.length - at;
      }
    }
    return 0;
  }

  /**
   * The connection closed. Completes a body that runs until close; anything else unfinished is
   * an error (the caller reports a response that broke off).
   */
  end(): void {
    if (this.state === "until-close") {
      this.state = "done";
      return;
    }
    if (this.state !== "done")
      throw new MalformedResponseError(
        this.started
          ? "the upstream closed the connection mid-response"
          : "the upstream closed the connection",
      );
  }

  /** Passes on what `data[at..]` holds of the `remaining` body bytes; returns the next offset. */
  private deliverRemaining(data: Buffer, at: number): number {
    const n = Math.min(this.remaining, data.length - at);
    this.remaining -= n;
    this.deliver(data, at, at + n);
    return at + n;
  }

  private deliver(data: Buffer, from: number, to: number): void {
    if (to > from) this.sink!.onBody(from === 0 && to === data.length ? data : data.subarray(from, to));
  }

  /** Collects bytes until the blank line, then parses the head. Returns the next offset. */
  private readHead(data: Buffer, at: number): number {
    const end = this.collectUntil(data, at, CRLFCRLF, MAX_HEAD_BYTES, "response head");
    if (end === -1) return data.length;
    const head = this.pending!;
    this.pending = null;
    this.parseHead(head.toString("latin1", 0, end.headLength));
    return end.next;
  }

  private readTrailers(data: Buffer, at: number): number {
    // Trailers are not passed on (the relay does not forward them). The section ends at a
    // blank line; it was started with the size line's CRLF (see readSizeLine), so the end is
    // always a CRLFCRLF, trailers or none.
    const end = this.collectUntil(data, at, CRLFCRLF, MAX_HEAD_BYTES, "trailer section");
    if (end === -1) return data.length;
    this.pending = null;
    this.state = "done";
    return end.next;
  }

  private readSizeLine(data: Buffer, at: number): number {
    const end = this.collectUntil(data, at, CRLFCRLF.subarray(0, 2), MAX_CHUNK_LINE, "chunk-size line");
    if (end === -1) return data.length;
    const line = this.pending!.toString("latin1", 0, end.headLength);
    this.pending = null;
    const semi = line.indexOf(";");
    const digits = (semi === -1 ? line : line.slice(0, semi)).trimEnd();
    if (!HEX_SIZE.test(digits)) throw new MalformedResponseError("bad chunk size");
    const size = parseInt(digits, 16);
    if (size === 0) {
      this.state = "trailers";
      this.pending = Buffer.from(CRLFCRLF.subarray(0, 2));
    } else {
      this.state = "data";
      this.remaining = size;
    }
    return end.next;
  }

  /**
   * Appends `data[at..]` to the pending bytes until `marker` appears. Returns the length of the
   * content before the marker and the offset in `data` just past it, or -1 when more is needed.
   * The search resumes near where the last one stopped, so a head split into many reads is not
   * rescanned from the start each time.
   */
  private collectUntil(
    data: Buffer,
    at: number,
    marker: Buffer,
    limit: number,
    what: string,
  ): { headLength: number; next: number } | -1 {
    const before = this.pending === null ? 0 : this.pending.length;
    const joined = before === 0 ? data.subarray(at) : Buffer.concat([this.pending!, data.subarray(at)]);
    const found = joined.indexOf(marker, Math.max(0, before - marker.length + 1));
    if (found === -1) {
      if (joined.length > limit) throw new MalformedResponseError(`${what} larger than ${limit} bytes`);
      // Copied: `data` is the socket's buffer and the parser must not hold on to a view of it.
      this.pending = before === 0 ? Buffer.from(joined) : joined;
      return -1;
    }
    if (found > limit) throw new MalformedResponseError(`${what} larger than ${limit} bytes`);
    this.pending = joined;
    return { headLength: found, next: at + (found + marker.length - before) };
  }

  private parseHead(text: string): void {
    let eol = text.indexOf("\r\n");
    if (eol === -1) eol = text.length;
    const version = text.slice(0, 9);
    if ((version !== "HTTP/1.1 " && version !== "HTTP/1.0 ") || !isStatusCode(text, eol))
      throw new MalformedResponseError("bad status line");
    const status = Number(text.slice(9, 12));
    if (status < 100) throw new MalformedResponseError("bad status code");
    const headers: ResponseHeaders = [];
    for (let at = eol + 2; at < text.length;) {
      let end = text.indexOf("\r\n", at);
      if (end === -1) end = text.length;
      const problem = readField(text, at, end, headers);
      if (problem) throw new MalformedResponseError(problem);
      at = end + 2;
    }
    if (status < 200) {
      // Interim response (100 Continue, 103 Early Hints): the real one follows on this connection.
      // 101 would switch protocols, which a request keyward sends never asks for.
      if (status === 101) throw new MalformedResponseError("unexpected 101 Switching Protocols");
      this.state = "head";
      return;
    }
    this.frame(status, version === "HTTP/1.1 ", headers);
    this.sink!.onHead(status, headers);
  }

  /** RFC 9112 §6.3: how the body of this response is delimited, and whether the connection lasts. */
  private frame(status: number, http11: boolean, headers: ResponseHeaders): void {
    let connection: string | undefined;
    let te: string | undefined;
    let cl: string | undefined;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i];
      if (name === "connection") connection = joinField(connection, headers[i + 1]!);
      else if (name === "keep-alive") this.keepAliveSeconds = timeoutParameter(headers[i + 1]!);
      else if (name === "transfer-encoding") te = joinField(te, headers[i + 1]!);
      else if (name === "content-length") cl = joinField(cl, headers[i + 1]!);
    }
    const tokens = connectionTokens(connection);
    this.reusable = http11 ? !tokens.has("close") : tokens.has("keep-alive");
    if (this.headRequest || status === 204 || status === 304) {
      this.state = "done";
      return;
    }
    if (te !== undefined) {
      // A response with both is a smuggling hint: Transfer-Encoding wins and the connection ends.
      if (cl !== undefined) this.reusable = false;
      const codings = te.toLowerCase().split(",");
      if (codings[codings.length - 1]!.trim() === "chunked") {
        this.state = "size";
        return;
      }
      this.state = "until-close";
      this.reusable = false;
      return;
    }
    if (cl !== undefined) {
      // Repeated lengths ("5, 5") are allowed only when they agree (RFC 9110 §8.6).
      const values = cl.indexOf(",") === -1 ? [cl] : cl.split(",").map((v) => v.trim());
      if (!values.every((v) => v === values[0]) || !/^\d{1,15}$/.test(values[0]!))
        throw new MalformedResponseError("bad Content-Length");
      this.remaining = Number(values[0]);
      this.state = this.remaining === 0 ? "done" : "length";
      return;
    }
    this.state = "until-close";
    this.reusable = false;
  }
}

/** Three digits at 9..11 of the status line, then its end or a space. */
function isStatusCode(text: string, eol: number): boolean {
  for (let i = 9; i < 12; i++) {
    const c = text.charCodeAt(i);
    if (!(c >= 48 && c <= 57)) return false;
  }
  return eol === 12 || (eol > 12 && text.charCodeAt(12) === 32);
}

function joinField(prior: string | undefined, value: string): string {
  return prior === undefined ? value : `${prior}, ${value}`;
}

/** N of a `timeout=N` parameter (Keep-Alive: timeout=5, max=100), or null. */
function timeoutParameter(value: string): number | null {
  const m = /(?:^|[,\s])timeout=(\d+)/i.exec(value);
  return m ? Number(m[1]) : null;
}
