import type { Server } from "node:http";
import type { Socket } from "node:net";
import type { GatewayRequest, GatewayResponse } from "../../gateway/exchange.js";
import { HeadEndScanner, readRequestHead, type RequestHead } from "./request-head.js";
import { FrontResponse, HttpDate } from "./response.js";

/**
 * Puts a front before a node:http server: the server's connections go to the front first, and
 * what the front does not serve goes on to node:http's own connection handler. The server keeps
 * everything else it does: listening, counting connections for `close()`, its timeouts for the
 * connections it gets.
 */
export function attachFront(server: Server, options: Omit<FrontOptions, "handOver">): Front {
  const listeners = server.listeners("connection");
  const node = listeners[0];
  // node:http registers exactly one: its connection listener, which sets up its parser.
  if (listeners.length !== 1 || typeof node !== "function")
    throw new Error("attachFront: the server must be a fresh node:http server");
  server.removeAllListeners("connection");
  const front = new Front({ ...options, handOver: (socket) => void node.call(server, socket) });
  server.on("connection", (socket: Socket) => front.accept(socket));
  return front;
}

export interface FrontOptions {
  /** Whether the front serves a request for this target itself (the gateway's `/v1`). */
  claims(target: string): boolean;
  /** Serves a claimed request. */
  serve(req: GatewayRequest, res: GatewayResponse): void;
  /**
   * node:http's own connection handler. A connection whose next request the front does not
   * serve goes here for good, its unread bytes put back first.
   */
  handOver(socket: Socket): void;
  /** Longest request head read (node:http's own limit is the default: 16 KiB). */
  maxHeadBytes: number;
  /** Largest body the front buffers itself; larger ones go to node:http, which streams them. */
  maxBodyBytes: number;
  /** A request's head must be complete this long after its first byte (node: headersTimeout). */
  headersTimeoutMs: number;
  /** …and its body this long after its first byte (node: requestTimeout). */
  requestTimeoutMs: number;
  /** An idle connection is closed after this long (node: keepAliveTimeout). */
  keepAliveTimeoutMs: number;
}

/**
 * The gateway's own HTTP/1.1 server, in front of node:http on the same port.
 *
 * Why: on a small machine the gateway's tail latency is made of CPU contention, and node:http's
 * request and response objects were most of what keyward added to it (a bare proxy behind a
 * node:http server: +1.69 ms p99 at 1,000 req/s; the same on raw sockets: +0.79 ms;
 * BENCHMARKS.md). The front reads ordinary `/v1` requests itself (a strict head, a body framed
 * by content-length, in memory) and writes their responses straight to the socket.
 *
 * Everything else is node's: a connection whose next request is not for the front (another
 * path, a chunked or large body, an unusual head: see request-head.ts) is handed to node:http
 * with its unread bytes, and stays there. Requests on one connection are served one at a time,
 * in order; pipelined ones wait in the buffer.
 */
export class Front {
  private readonly live = new Set<Connection>();
  private readonly date = new HttpDate();
  private readonly sweeper: NodeJS.Timeout;
  private closing = false;

  constructor(readonly o: FrontOptions) {
    // One timer for every connection's deadline: no request pays for a timer of its own.
    this.sweeper = setInterval(() => this.sweep(), 1000);
    this.sweeper.unref();
  }

  /** A new connection (from the server's `connection` event). */
  accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.live.add(new Connection(socket, this, this.date));
  }

  /** Connections the front still holds (not handed over). */
  get connections(): number {
    return this.live.size;
  }

  /** Shutting down: idle connections close now, busy ones after their response. */
  closeIdle(): void {
    this.closing = true;
    for (const c of this.live) c.closeWhenIdle();
  }

  /** Cuts every connection the front holds. */
  closeAll(): void {
    this.closing = true;
    clearInterval(this.sweeper);
    for (const c of this.live) c.socket.destroy();
  }

  /** @internal */
  forget(c: Connection): void {
    this.live.delete(c);
  }

  /** @internal */
  get shuttingDown(): boolean {
    return this.closing;
  }

  private sweep(): void {
    const now = performance.now();
    for (const c of this.live) c.checkDeadline(now);
  }
}

class Connection {
  /** Bytes received and not yet used, oldest first. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The head of the request being received, once it is complete. */
  private head: RequestHead | null = null;
  /** Whether the pending bytes hold a complete head yet (read only once they do). */
  private readonly headEnd = new HeadEndScanner();
  private active: FrontResponse | null = null;
  /** When the connection is cut unless something happens first (performance.now() ms). */
  private deadline: number;
  /** When the first byte of the request being received arrived. */
  private requestStart: number;
  private closeAfter = false;
  private paused = false;
  private readonly remoteAddress: string | undefined;
  private readonly onData = (chunk: Buffer) => this.received(chunk);
  private readonly onEnd = () => this.ended();
  private readonly onClose = () => this.closed();
  private readonly onDrain = () => this.active?.emit("drain");

  constructor(
    readonly socket: Socket,
    private readonly front: Front,
    private readonly date: HttpDate,
  ) {
    this.remoteAddress = socket.remoteAddress;
    this.requestStart = performance.now();
    this.deadline = this.requestStart + front.o.headersTimeoutMs;
    socket.on("data", this.onData);
    socket.on("end", this.onEnd);
    socket.on("close", this.onClose);
    socket.on("drain", this.onDrain);
    socket.on("error", noop); // `close` follows
  }

  closeWhenIdle(): void {
    this.closeAfter = true;
    if (!this.active) this.socket.destroy();
  }

  checkDeadline(now: number): void {
    if (now <= this.deadline) return;
    // As node:http does: a request that did not arrive in time is answered 408 (a small write
    // leaves at once, before the close); an idle connection is just closed.
    if (this.pendingBytes > 0 && !this.active) this.socket.write(REQUEST_TIMEOUT);
    this.socket.destroy();
  }

  private received(chunk: Buffer): void {
    if (this.pendingBytes === 0 && !this.active) this.startRequest();
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (!this.head) this.headEnd.push(chunk);
    if (this.active) {
      // Pipelined requests wait; a client that keeps sending meanwhile is held back.
      if (this.pendingBytes > this.front.o.maxHeadBytes + this.front.o.maxBodyBytes && !this.paused) {
        this.paused = true;
        this.socket.pause();
      }
      return;
    }
    this.next();
  }

  /** Serves the next buffered request, if it is all here, or hands the connection over. */
  private next(): void {
    const o = this.front.o;
    if (this.pendingBytes === 0) return;
    if (!this.head) {
      if (!this.headEnd.found && this.pendingBytes <= o.maxHeadBytes) return;
      const buf = this.joined();
      // The scanner already knows where the head ends; without it (over the limit) the reader looks.
      const read = readRequestHead(buf, o.maxHeadBytes, this.headEnd.found ? this.headEnd.at : undefined);
      if (read === "incomplete") return;
      if (read === "other" || !o.claims(read.target) || read.bodyLength > o.maxBodyBytes)
        return this.handOver();
      this.head = read;
      this.deadline = this.requestStart + o.requestTimeoutMs;
    }
    const head = this.head;
    if (this.pendingBytes < head.size + head.bodyLength) return;
    const buf = this.joined();
    const end = head.size + head.bodyLength;
    const body = buf.subarray(head.size, end);
    this.head = null;
    const rest = end < buf.length ? buf.subarray(end) : null;
    this.pending = rest ? [rest] : [];
    this.pendingBytes = rest?.length ?? 0;
    this.headEnd.reset(rest);
    this.serve(head, body);
  }

  private serve(head: RequestHead, body: Buffer): void {
    this.deadline = Infinity; // the gateway's own timeouts govern from here
    const res = new FrontResponse({
      socket: this.socket,
      headRequest: head.method === "HEAD",
      keepAlive: () => head.keepAlive && !this.closeAfter && !this.front.shuttingDown,
      keepAliveSeconds: Math.floor(this.front.o.keepAliveTimeoutMs / 1000),
      date: this.date,
      finished: (keepAlive) => this.finished(keepAlive),
    });
    this.active = res;
    const req: GatewayRequest = {
      method: head.method,
      url: head.target,
      headers: head.headers,
      remoteAddress: this.remoteAddress,
      readBody: (limit) => Promise.resolve(body.length > limit ? "too_large" : body),
      bodyStream: body,
    };
    this.front.o.serve(req, res);
  }

  private finished(keepAlive: boolean): void {
    this.active = null;
    if (!keepAlive || this.closeAfter || this.front.shuttingDown) {
      this.socket.end();
      this.deadline = performance.now() + this.front.o.keepAliveTimeoutMs; // a client that never closes
      return;
    }
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
    if (this.pendingBytes > 0) {
      this.startRequest();
      // Not from inside the response's end(): the caller is still finishing the last request.
      setImmediate(() => {
        if (!this.active && !this.socket.destroyed) this.next();
      });
    } else this.deadline = performance.now() + this.front.o.keepAliveTimeoutMs;
  }

  private startRequest(): void {
    this.requestStart = performance.now();
    this.deadline = this.requestStart + this.front.o.headersTimeoutMs;
  }

  private ended(): void {
    // As node:http does (httpAllowHalfOpen off): a client that stops sending is gone, and so is
    // the request it was waiting on (the gateway hears `close` and aborts the upstream call).
    this.socket.destroy();
  }

  private closed(): void {
    this.front.forget(this);
    const res = this.active;
    this.active = null;
    if (res && !res.writableFinished) res.clientGone();
  }

  private handOver(): void {
    const socket = this.socket;
    socket.off("data", this.onData);
    socket.off("end", this.onEnd);
    socket.off("close", this.onClose);
    socket.off("drain", this.onDrain);
    socket.off("error", noop);
    this.front.forget(this);
    socket.pause();
    socket.unshift(this.joined());
    this.pending = [];
    this.pendingBytes = 0;
    this.front.o.handOver(socket);
    socket.resume();
  }

  /** The pending bytes as one buffer. */
  private joined(): Buffer {
    if (this.pending.length > 1) this.pending = [Buffer.concat(this.pending, this.pendingBytes)];
    return this.pending[0] ?? Buffer.alloc(0);
  }
}

const REQUEST_TIMEOUT = "HTTP/1.1 408 Request Timeout\r\nconnection: close\r\n\r\n";

function noop(): void {}
