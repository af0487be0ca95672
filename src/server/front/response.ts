import { EventEmitter } from "node:events";
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { GatewayResponse } from "../../gateway/exchange.js";
import { BAD_VALUE, TOKEN, connectionTokens } from "../../gateway/http1/fields.js";

const LAST_CHUNK = "0\r\n\r\n";

/** The `date` header's value, made at most once a second. */
export class HttpDate {
  private second = -1;
  private text = "";

  now(): string {
    const ms = Date.now();
    const second = Math.floor(ms / 1000);
    if (second !== this.second) {
      this.second = second;
      this.text = new Date(ms).toUTCString();
    }
    return this.text;
  }
}

/** What a response needs from its connection. */
export interface ResponseContext {
  socket: Socket;
  /** The request was HEAD: a head and no body. */
  headRequest: boolean;
  /** Whether both sides allow the connection to stay open after this response (asked at writeHead). */
  keepAlive(): boolean;
  /** Seconds, for the `keep-alive: timeout=` header. */
  keepAliveSeconds: number;
  date: HttpDate;
  /** Called once, when the whole response is on the socket; `keepAlive` as it was sent. */
  finished(keepAlive: boolean): void;
}

/**
 * One HTTP/1.1 response written straight to the socket, for the front's requests: the subset
 * of node:http's ServerResponse the gateway uses, with the same wire result — a `date` header,
 * `connection: keep-alive` + `keep-alive: timeout=…` (or `connection: close`), and chunked
 * encoding when no content-length is given. The head waits for the first body bytes, so head
 * and body leave in one write. Header names and values are checked as node checks them: a bad
 * one throws and nothing is sent.
 *
 * Events: `drain` (the socket emptied), `close` (the client went away before the end).
 */
export class FrontResponse extends EventEmitter implements GatewayResponse {
  headersSent = false;
  writableEnded = false;
  writableFinished = false;
  destroyed = false;
  private pendingHead: string | null = null;
  private chunked = false;
  private noBody: boolean;
  private keepAlive = true;

  constructor(private readonly c: ResponseContext) {
    super();
    this.noBody = c.headRequest;
  }

  writeHead(status: number, headers: Record<string, string | number> | string[]): this {
    if (this.headersSent) throw new Error("headers already sent");
    this.keepAlive = this.c.keepAlive();
    let lines = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Unknown"}\r\n`;
    let length = false;
    let date = false;
    const add = (name: string, value: string): void => {
      if (!TOKEN.test(name) || BAD_VALUE.test(value)) throw new TypeError(`invalid response header ${name}`);
      const lower = name.toLowerCase();
      if (lower === "content-length") length = true;
      else if (lower === "date") date = true;
      else if (lower === "transfer-encoding") throw new TypeError("transfer-encoding is the front's to set");
      else if (lower === "connection") {
        if (connectionTokens(value).has("close")) this.keepAlive = false;
        return; // written below, once
      }
      lines += `${name}: ${value}\r\n`;
    };
    if (Array.isArray(headers))
      for (let i = 0; i + 1 < headers.length; i += 2) add(headers[i]!, headers[i + 1]!);
    else for (const name in headers) add(name, String(headers[name]));
    if (status === 204 || status === 304 || (status >= 100 && status < 200)) this.noBody = true;
    if (!date) lines += `date: ${this.c.date.now()}\r\n`;
    if (!length && !this.noBody) {
      this.chunked = true;
      lines += "transfer-encoding: chunked\r\n";
    }
    lines += this.keepAlive
      ? `connection: keep-alive\r\nkeep-alive: timeout=${this.c.keepAliveSeconds}\r\n\r\n`
      : "connection: close\r\n\r\n";
    this.pendingHead = lines;
    this.headersSent = true;
    return this;
  }

  flushHeaders(): void {
    if (!this.headersSent) this.writeHead(200, {});
    if (this.pendingHead === null || this.destroyed) return;
    this.c.socket.write(this.pendingHead, "latin1");
    this.pendingHead = null;
  }

  write(chunk: string | Buffer): boolean {
    if (this.writableEnded || this.destroyed) return false;
    if (!this.headersSent) this.writeHead(200, {});
    return this.send(chunk, false);
  }

  end(chunk?: string | Buffer): this {
    if (this.writableEnded) return this;
    if (!this.headersSent) this.writeHead(200, {});
    this.writableEnded = true;
    if (this.destroyed) return this;
    this.send(chunk, true);
    this.writableFinished = true;
    this.c.finished(this.keepAlive);
    return this;
  }

  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.c.socket.destroy();
    return this;
  }

  /** The client went away before the end (from the connection). */
  clientGone(): void {
    this.destroyed = true;
    this.emit("close");
  }

  /** Head (if still pending), body bytes framed as the head said, and the last chunk on `end`. */
  private send(chunk: string | Buffer | undefined, last: boolean): boolean {
    const socket = this.c.socket;
    const size = chunk === undefined || this.noBody ? 0 : Buffer.byteLength(chunk);
    let prefix = this.pendingHead ?? "";
    this.pendingHead = null;
    if (size > 0 && this.chunked) prefix += `${size.toString(16)}\r\n`;
    const suffix = (size > 0 && this.chunked ? "\r\n" : "") + (last && this.chunked ? LAST_CHUNK : "");
    if (size === 0)
      return prefix + suffix === "" ? !socket.writableNeedDrain : socket.write(prefix + suffix, "latin1");
    // One writev for all three (cork batches them); the head is latin-1, as node writes heads.
    socket.cork();
    if (prefix) socket.write(prefix, "latin1");
    let ok = socket.write(chunk!);
    if (suffix) ok = socket.write(suffix, "latin1");
    socket.uncork();
    return ok;
  }
}
