import net from "node:net";
import tls from "node:tls";
import type {
  UpstreamControls,
  UpstreamFailure,
  UpstreamHandler,
  UpstreamRequest,
} from "../upstream-types.js";
import { InvalidRequestError, requestHead } from "./request-head.js";
import { ResponseParser, type ResponseHeaders, type ResponseSink } from "./response-parser.js";

export interface OriginPoolOptions {
  /** No progress for this long (connecting, sending, waiting for headers, between body reads) fails the exchange. */
  timeoutMs: number;
  maxConnections: number;
  /** Longest an idle connection is kept; shortened by the upstream's own `Keep-Alive: timeout`. */
  idleMs: number;
  /** Extra TLS options for https origins (a private CA, say). */
  tls?: tls.ConnectionOptions;
}

/** Bodies up to this size are copied behind the head and sent in one write. */
const ONE_WRITE_MAX = 16 * 1024;
/** Margin kept below the upstream's announced keep-alive timeout, so a reused connection is not one it is closing. */
const KEEP_ALIVE_MARGIN_MS = 1000;
/**
 * A paused exchange (its client reads slower than the upstream sends) is not timed out as
 * silent, but neither may a client that stopped reading hold a connection for ever.
 */
const PAUSED_TIMEOUT_FACTOR = 10;
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);
const NO_CONTROLS: UpstreamControls = { pause() {}, resume() {}, abort() {} };

/** Fails an exchange before it starts: the handler hears its start and the error at once. */
export function refuse(handler: UpstreamHandler, err: Error): void {
  handler.onStart(NO_CONTROLS);
  handler.onError("unreachable", err);
}

/** One keep-alive connection. It carries one exchange at a time (no pipelining). */
class Connection {
  readonly parser = new ResponseParser();
  exchange: Exchange | null = null;
  idleUntil = 0;
  error: Error | null = null;
  /** Exchanges started on this connection (more than one: it was reused). */
  served = 0;

  constructor(readonly socket: net.Socket) {}
}

/**
 * Keep-alive HTTP/1.1 connections to one upstream origin, and the exchanges on them.
 *
 * Why not undici: on the gateway's path its dispatch and response parsing cost about as much
 * CPU as all of keyward's own checks (see BENCHMARKS.md). This pool does what the gateway needs
 * and no more: one request per connection at a time, LIFO reuse (the warmest connection first),
 * a FIFO queue when all `maxConnections` are busy, and inactivity deadlines checked by the
 * client's sweep instead of a timer per request.
 */
export class OriginPool {
  private readonly idle: Connection[] = [];
  private readonly waiting: Exchange[] = [];
  /** Exchanges not yet over, waiting ones included (the sweep checks their deadlines). */
  private readonly active = new Set<Exchange>();
  private open = 0;
  private closed = false;
  private onDrained: (() => void) | null = null;
  private readonly host: string;
  private readonly connectOptions: net.NetConnectOpts & tls.ConnectionOptions;
  private readonly secure: boolean;
  /** The latest TLS session the upstream offered, so a new connection resumes instead of a full handshake. */
  private tlsSession: Buffer | undefined;

  constructor(
    origin: URL,
    private readonly o: OriginPoolOptions,
  ) {
    this.secure = origin.protocol === "https:";
    this.host = origin.host;
    const hostname = origin.hostname.replace(/^\[|\]$/g, "");
    this.connectOptions = {
      host: hostname,
      port: Number(origin.port) || (this.secure ? 443 : 80),
      ...(this.secure
        ? { servername: net.isIP(hostname) ? undefined : hostname, ALPNProtocols: ["http/1.1"], ...o.tls }
        : {}),
    };
  }

  /** Sends one request; the handler hears how it goes (see UpstreamHandler). Never throws. */
  dispatch(request: UpstreamRequest, handler: UpstreamHandler): void {
    const streamed = request.body !== null && !Buffer.isBuffer(request.body);
    const chunked = streamed && request.headers["content-length"] === undefined;
    let head: string;
    try {
      if (this.closed) throw new Error("the upstream client is closed");
      // A wrong length would desynchronise the connection for every later request on it.
      if (Buffer.isBuffer(request.body) && request.headers["content-length"] !== String(request.body.length))
        throw new InvalidRequestError("content-length must equal the body's length");
      head = requestHead(
        request.method,
        request.path,
        this.host,
        chunked ? { ...request.headers, "transfer-encoding": "chunked" } : request.headers,
      );
    } catch (err) {
      return refuse(handler, err as Error);
    }
    const exchange = new Exchange(this, request, head, chunked, handler, this.o.timeoutMs);
    this.active.add(exchange);
    handler.onStart(exchange);
    if (exchange.over) return; // aborted by the handler already
    const conn = this.checkout();
    if (conn) this.start(exchange, conn);
    else this.waiting.push(exchange);
  }

  /** Fails exchanges past their deadline and closes idle connections past theirs. */
  sweep(now: number): void {
    for (const ex of this.active) {
      if (ex.deadline <= now) ex.fail("timeout", new Error("the upstream did not answer in time"));
    }
    for (let i = this.idle.length - 1; i >= 0; i--) {
      if (this.idle[i]!.idleUntil <= now) this.idle[i]!.socket.destroy();
    }
  }

  /** Refuses new requests, closes idle connections, resolves when running and queued exchanges are over. */
  close(): Promise<void> {
    this.closed = true;
    for (const conn of this.idle.splice(0)) conn.socket.destroy();
    if (this.active.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.onDrained = resolve));
  }

  /** Connections open now (idle and busy), for tests and metrics. */
  get connections(): number {
    return this.open;
  }

  /** The exchange is over (done or failed): its connection, if any, is kept for reuse or closed. */
  forget(ex: Exchange, reusable: boolean): void {
    this.active.delete(ex);
    const conn = ex.conn;
    if (conn) {
      ex.conn = null;
      conn.exchange = null;
      // After close, a connection is kept only to serve requests already queued.
      const idleMs = reusable ? this.idleMsAfter(conn.parser) : 0;
      if (idleMs > 0 && (!this.closed || this.waiting.length > 0)) this.reuse(conn, idleMs);
      else conn.socket.destroy();
    } else {
      const i = this.waiting.indexOf(ex);
      if (i !== -1) this.waiting.splice(i, 1);
    }
    if (this.active.size === 0 && this.onDrained) this.onDrained();
  }

  /** How long a connection may wait idle after this response: ours, or less if the upstream says so. */
  private idleMsAfter(parser: ResponseParser): number {
    const seconds = parser.keepAliveTimeoutSeconds;
    return seconds === null ? this.o.idleMs : Math.min(this.o.idleMs, seconds * 1000 - KEEP_ALIVE_MARGIN_MS);
  }

  private reuse(conn: Connection, idleMs: number): void {
    const next = this.waiting.shift();
    if (next) return this.start(next, conn);
    conn.idleUntil = performance.now() + idleMs;
    this.idle.push(conn);
  }

  private checkout(): Connection | null {
    const now = performance.now();
    while (this.idle.length > 0) {
      const conn = this.idle.pop()!;
      // Not one the upstream has begun to close (its FIN read, the 'close' event still to come).
      if (conn.idleUntil > now && !conn.socket.destroyed && !conn.socket.readableEnded) return conn;
      conn.socket.destroy();
    }
    return this.open < this.o.maxConnections ? this.connect() : null;
  }

  private connect(): Connection {
    // Writes made before the connection is up are queued by the socket and sent once it is.
    const socket = this.secure ? this.connectTls() : net.connect(this.connectOptions);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    const conn = new Connection(socket);
    this.open++;
    socket.on("data", (data: Buffer) => this.received(conn, data));
    socket.on("error", (err) => (conn.error = err)); // 'close' follows and reports it
    // The upstream closed an idle connection: drop it now rather than when 'close' comes.
    socket.on("end", () => {
      if (!conn.exchange) socket.destroy();
    });
    socket.on("close", () => this.lost(conn));
    return conn;
  }

  private connectTls(): tls.TLSSocket {
    const socket = tls.connect(
      this.tlsSession ? { ...this.connectOptions, session: this.tlsSession } : this.connectOptions,
    );
    // Only a session with a server whose certificate checked out is kept for resuming.
    socket.on("session", (session: Buffer) => {
      if (socket.authorized) this.tlsSession = session;
    });
    return socket;
  }

  private start(ex: Exchange, conn: Connection): void {
    conn.exchange = ex;
    conn.served++;
    ex.conn = conn;
    conn.parser.reset(ex, ex.request.method === "HEAD");
    ex.send(conn.socket);
  }

  private received(conn: Connection, data: Buffer): void {
    const ex = conn.exchange;
    // Bytes on an idle connection: the upstream is out of step with us; never reuse it.
    if (!ex) return void conn.socket.destroy();
    let extra: number;
    try {
      extra = conn.parser.push(data);
    } catch (err) {
      return ex.fail("unreachable", err as Error);
    }
    if (conn.parser.done && !ex.over) ex.finish(extra === 0 && conn.parser.keepAlive && ex.requestSent);
  }

  private lost(conn: Connection): void {
    this.open--;
    const i = this.idle.indexOf(conn);
    if (i !== -1) this.idle.splice(i, 1);
    const ex = conn.exchange;
    if (ex && !ex.over) {
      try {
        conn.parser.end(); // a body delimited by the close is complete now
        ex.finish(false);
      } catch (err) {
        if (this.mayRetry(ex, conn)) this.retry(ex, conn);
        else ex.fail("unreachable", conn.error ?? (err as Error));
      }
    }
    // A connection slot opened: a waiting exchange (even after close) can have a new connection.
    if (this.waiting.length > 0 && this.open < this.o.maxConnections)
      this.start(this.waiting.shift()!, this.connect());
  }

  /**
   * A reused connection that closed without a byte of answer was most likely closed by the
   * upstream as idle while the request was on its way. A request that is safe to repeat
   * (RFC 9110 §9.2.2, without a body) is sent once more on another connection; any other gets
   * the error, as it may have been received.
   */
  private mayRetry(ex: Exchange, conn: Connection): boolean {
    return (
      conn.served > 1 &&
      !conn.parser.receivedAny &&
      !ex.retried &&
      ex.request.body === null &&
      IDEMPOTENT.has(ex.request.method)
    );
  }

  private retry(ex: Exchange, conn: Connection): void {
    ex.retried = true;
    conn.exchange = null;
    ex.conn = null;
    const next = this.checkout();
    if (next) this.start(ex, next);
    else this.waiting.unshift(ex);
  }
}

/** One request and its response on a pooled connection. */
class Exchange implements UpstreamControls, ResponseSink {
  conn: Connection | null = null;
  /** performance.now() past which the sweep fails this exchange (further off while paused). */
  deadline: number;
  over = false;
  /** The whole request went to the socket (a connection is reusable only then). */
  requestSent = false;
  /** Sent a second time after a reused connection closed unanswered (see OriginPool.mayRetry). */
  retried = false;
  private paused = false;
  private detachBody: (() => void) | null = null;

  constructor(
    private readonly pool: OriginPool,
    readonly request: UpstreamRequest,
    private readonly head: string,
    private readonly chunked: boolean,
    private readonly handler: UpstreamHandler,
    private readonly timeoutMs: number,
  ) {
    this.deadline = performance.now() + timeoutMs;
  }

  send(socket: net.Socket): void {
    const body = this.request.body;
    if (body === null) {
      socket.write(this.head, "latin1");
      this.requestSent = true;
    } else if (Buffer.isBuffer(body)) {
      if (body.length <= ONE_WRITE_MAX) {
        const out = Buffer.allocUnsafe(this.head.length + body.length);
        out.write(this.head, 0, "latin1");
        body.copy(out, this.head.length);
        socket.write(out);
      } else {
        socket.cork();
        socket.write(this.head, "latin1");
        socket.write(body);
        socket.uncork();
      }
      this.requestSent = true;
    } else {
      socket.write(this.head, "latin1");
      this.pipeBody(body, socket);
    }
  }

  /** Forwards a streamed body as it arrives, at the pace the upstream takes it. */
  private pipeBody(source: NodeJS.ReadableStream, socket: net.Socket): void {
    const onData = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      if (bytes.length === 0) return;
      this.refresh();
      let ok: boolean;
      if (this.chunked) {
        socket.cork();
        socket.write(`${bytes.length.toString(16)}\r\n`, "latin1");
        socket.write(bytes);
        ok = socket.write("\r\n", "latin1");
        socket.uncork();
      } else ok = socket.write(bytes);
      if (!ok) {
        source.pause();
        socket.once("drain", () => source.resume());
      }
    };
    const onEnd = (): void => {
      if (this.chunked) socket.write("0\r\n\r\n", "latin1");
      this.requestSent = true;
      detach();
    };
    // The source closing or failing before its end: the client went away mid-upload.
    const onCut = (): void => {
      detach();
      this.fail("aborted", new Error("the request body ended early"));
    };
    const detach = (): void => {
      source.off("data", onData);
      source.off("end", onEnd);
      source.off("error", onCut);
      source.off("close", onCut);
      this.detachBody = null;
      // Ended early (an early answer, a failure): let the rest of the upload drain unread
      // rather than leave the client's request paused with nobody reading it.
      if (!this.requestSent) source.resume();
    };
    this.detachBody = detach;
    source.on("data", onData);
    source.on("end", onEnd);
    source.on("error", onCut);
    source.on("close", onCut);
  }

  onHead(status: number, headers: ResponseHeaders): void {
    if (this.over) return;
    this.refresh();
    this.handler.onHeaders(status, headers);
  }

  onBody(chunk: Buffer): void {
    if (this.over) return;
    this.refresh();
    this.handler.onData(chunk);
  }

  /** The response is complete: the connection goes back first, then the handler hears the end. */
  finish(reusable: boolean): void {
    this.over = true;
    this.detachBody?.();
    // Paused by a slow client as the last bytes arrived: the next exchange must find it reading.
    if (this.paused) this.conn?.socket.resume();
    this.pool.forget(this, reusable);
    this.handler.onEnd();
  }

  fail(failure: UpstreamFailure, err: Error): void {
    if (this.over) return;
    this.over = true;
    this.detachBody?.();
    this.pool.forget(this, false);
    this.handler.onError(failure, err);
  }

  pause(): void {
    if (this.over || this.paused || !this.conn) return;
    this.paused = true;
    this.deadline = performance.now() + this.timeoutMs * PAUSED_TIMEOUT_FACTOR;
    this.conn.socket.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.refresh();
    this.conn?.socket.resume();
  }

  abort(): void {
    this.fail("aborted", new Error("the request was aborted"));
  }

  private refresh(): void {
    if (!this.paused) this.deadline = performance.now() + this.timeoutMs;
  }
}
