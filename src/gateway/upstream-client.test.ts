import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import type { TLSSocket } from "node:tls";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough, Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { UpstreamClient } from "./upstream-client.js";
import {
  headerValue,
  type ResponseHeaders,
  type UpstreamControls,
  type UpstreamFailure,
  type UpstreamRequest,
} from "./upstream-types.js";

interface Outcome {
  status: number;
  headers: ResponseHeaders;
  body: string;
  failure: UpstreamFailure | null;
  error: Error | null;
  events: string[];
}

/** Sends one request and collects what the handler heard. */
function exchange(
  client: UpstreamClient,
  origin: string,
  request: Partial<UpstreamRequest>,
  hooks: { onStart?: (c: UpstreamControls) => void; onData?: (c: UpstreamControls, n: number) => void } = {},
): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { status: 0, headers: [], body: "", failure: null, error: null, events: [] };
    const chunks: Buffer[] = [];
    let controls!: UpstreamControls;
    client.dispatch(
      origin,
      { method: "GET", path: "/", headers: {}, body: null, ...request },
      {
        onStart: (c) => {
          controls = c;
          out.events.push("start");
          hooks.onStart?.(c);
        },
        onHeaders: (status, headers) => {
          out.events.push("headers");
          out.status = status;
          out.headers = headers;
        },
        onData: (chunk) => {
          chunks.push(Buffer.from(chunk));
          hooks.onData?.(controls, chunks.length);
        },
        onEnd: () => {
          out.events.push("end");
          out.body = Buffer.concat(chunks).toString();
          resolve(out);
        },
        onError: (failure, err) => {
          out.events.push("error");
          out.failure = failure;
          out.error = err;
          out.body = Buffer.concat(chunks).toString();
          resolve(out);
        },
      },
    );
  });
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function listen(server: net.Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        (server as http.Server).closeAllConnections?.();
        server.close(() => r());
      }),
  );
  return `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

/** An HTTP server answering with `handler`, counting the connections it accepted. */
async function httpServer(
  handler: http.RequestListener,
): Promise<{ origin: string; connections: () => number }> {
  const server = http.createServer(handler);
  let connections = 0;
  server.on("connection", () => connections++);
  return { origin: `http://${await listen(server)}`, connections: () => connections };
}

/** A TCP server that answers each connection's first request bytes with `reply`. */
async function rawServer(reply: (socket: net.Socket, request: string) => void): Promise<string> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let seen = "";
    socket.on("data", (d) => {
      seen += d.toString("latin1");
      if (seen.includes("\r\n\r\n")) reply(socket, seen);
    });
    socket.on("error", () => {});
  });
  const origin = `http://${await listen(server)}`;
  // Runs before the server's close (cleanups run last-in first): a paused socket never ends by itself.
  cleanups.push(() => sockets.forEach((s) => s.destroy()));
  return origin;
}

function newClient(timeoutMs = 2000, extra: Partial<ConstructorParameters<typeof UpstreamClient>[0]> = {}) {
  const client = new UpstreamClient({ timeoutMs, ...extra });
  cleanups.push(() => client.close());
  return client;
}

describe("UpstreamClient", () => {
  it("sends the request as given and reuses one keep-alive connection", async () => {
    const seen: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: string }> = [];
    const up = await httpServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        res.setHeader("Set-Cookie", ["a=1", "b=2"]);
        res.end(`echo ${body}`);
      });
    });
    const client = newClient();
    for (let i = 0; i < 3; i++) {
      const r = await exchange(client, up.origin, {
        method: "POST",
        path: `/v1/x?i=${i}`,
        headers: { "content-type": "text/plain", "content-length": "5", authorization: "Bearer sk-real" },
        body: Buffer.from("hello"),
      });
      expect(r).toMatchObject({
        status: 200,
        body: "echo hello",
        failure: null,
        events: ["start", "headers", "end"],
      });
      expect(headerValue(r.headers, "set-cookie")).toBe("a=1, b=2");
    }
    expect(seen.map((s) => s.url)).toEqual(["/v1/x?i=0", "/v1/x?i=1", "/v1/x?i=2"]);
    expect(seen[0]!.headers).toMatchObject({ host: up.origin.slice(7), authorization: "Bearer sk-real" });
    // undici may open a second connection for back-to-back POSTs, never one per request.
    expect(up.connections()).toBeLessThanOrEqual(2);
  });

  it("sends large bodies whole and streams a body of unknown length chunked", async () => {
    const got: Array<{ te?: string; cl?: string; length: number }> = [];
    const up = await httpServer((req, res) => {
      let length = 0;
      req.on("data", (d: Buffer) => (length += d.length));
      req.on("end", () => {
        got.push({ te: req.headers["transfer-encoding"], cl: req.headers["content-length"], length });
        res.end("ok");
      });
    });
    const client = newClient();
    const big = Buffer.alloc(100_000, 7);
    await exchange(client, up.origin, {
      method: "POST",
      headers: { "content-length": String(big.length) },
      body: big,
    });
    const parts = Array.from({ length: 20 }, (_, i) => Buffer.alloc(1000 + i, i));
    const r = await exchange(client, up.origin, { method: "POST", body: Readable.from(parts) });
    await exchange(client, up.origin, {
      method: "POST",
      headers: { "content-length": "3000" },
      body: Readable.from([Buffer.alloc(1000), Buffer.alloc(2000)]),
    });
    expect(r.status).toBe(200);
    expect(got).toEqual([
      { cl: "100000", length: 100_000 },
      { te: "chunked", length: parts.reduce((n, p) => n + p.length, 0) },
      { cl: "3000", length: 3000 },
    ]);
    expect(up.connections()).toBeLessThanOrEqual(2);
  });

  it("queues requests beyond maxConnections and serves them as connections free", async () => {
    let inFlight = 0;
    let most = 0;
    const up = await httpServer((_req, res) => {
      most = Math.max(most, ++inFlight);
      setTimeout(() => {
        inFlight--;
        res.end("done");
      }, 20);
    });
    const client = newClient(2000, { maxConnections: 2 });
    const all = await Promise.all(Array.from({ length: 7 }, () => exchange(client, up.origin, {})));
    expect(all.every((r) => r.status === 200 && r.body === "done")).toBe(true);
    expect(most).toBe(2);
    expect(up.connections()).toBe(2);
  });

  it("streams a chunked response as it arrives and can pause it", async () => {
    const up = await httpServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      let n = 0;
      const t = setInterval(() => {
        res.write(`data: ${n}\n\n`);
        if (++n === 5) {
          clearInterval(t);
          res.end();
        }
      }, 10);
    });
    const client = newClient(200);
    let pausedFor = 0;
    const r = await exchange(
      client,
      up.origin,
      {},
      {
        onData: (c, n) => {
          if (n !== 2) return;
          // Paused longer than the timeout: a slow client is not an upstream timeout.
          c.pause();
          const at = Date.now();
          setTimeout(() => {
            pausedFor = Date.now() - at;
            c.resume();
          }, 400);
        },
      },
    );
    expect(r.failure).toBeNull();
    expect(r.body).toBe([0, 1, 2, 3, 4].map((n) => `data: ${n}\n\n`).join(""));
    expect(pausedFor).toBeGreaterThanOrEqual(390);
  });

  it("a connection paused as its response completed is reading again for the next request", async () => {
    const up = await httpServer((_req, res) => res.end("x".repeat(64)));
    const client = newClient(300);
    // Paused on the last chunk (the client went slow just as the body ended), resumed on drain.
    const first = await exchange(
      client,
      up.origin,
      {},
      {
        onData: (c) => {
          c.pause();
          setTimeout(() => c.resume(), 50);
        },
      },
    );
    expect(first).toMatchObject({ status: 200, failure: null });
    await new Promise((r) => setImmediate(r));
    const second = await exchange(client, up.origin, {});
    expect(second).toMatchObject({ status: 200, failure: null, body: "x".repeat(64) });
    expect(up.connections()).toBe(1);
  });

  it("a stream paused and never resumed is cut after ten times the timeout", async () => {
    const up = await httpServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      const t = setInterval(() => res.write("data: x\n\n"), 10);
      res.on("close", () => clearInterval(t));
    });
    const client = newClient(100);
    const started = Date.now();
    const r = await exchange(client, up.origin, {}, { onData: (c, n) => n === 1 && c.pause() });
    expect(r.failure).toBe("timeout");
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("an upload the upstream answers early is drained, not left paused", async () => {
    // The upstream reads the head, stops reading, and answers 413 while the body backs up.
    const early = await rawServer((s) => {
      s.pause();
      setTimeout(() => s.end("HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n"), 100);
    });
    const source = new PassThrough();
    for (let i = 0; i < 16; i++) source.write(Buffer.alloc(1 << 20));
    const client = newClient();
    const r = await exchange(client, early, {
      method: "POST",
      headers: { "content-length": String(32 << 20) },
      body: source,
    });
    expect(r.status).toBe(413);
    // The rest of the upload is dropped: the source is destroyed, not left holding 16 MB.
    await expect.poll(() => source.destroyed || source.readableLength === 0).toBe(true);
  });

  it("times out an upstream that never answers, or goes silent mid-body", async () => {
    const hang = await rawServer(() => {});
    const client = newClient(200);
    let started = Date.now();
    const r = await exchange(client, hang, {});
    expect(r.failure).toBe("timeout");
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(Date.now() - started).toBeLessThan(1000);

    const stall = await rawServer((s) => s.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"));
    started = Date.now();
    const s = await exchange(client, stall, {});
    expect(s).toMatchObject({
      status: 200,
      failure: "timeout",
      body: "abc",
      events: ["start", "headers", "error"],
    });
    // undici checks body timeouts on a coarse (up to 1 s) timer.
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it("aborts: before the connection is used, and mid-response, closing the connection", async () => {
    let closed = 0;
    const up = await httpServer((req, res) => {
      req.socket.on("close", () => closed++);
      res.writeHead(200);
      res.write("first");
    });
    const client = newClient();
    const early = await exchange(client, up.origin, {}, { onStart: (c) => c.abort() });
    expect(early).toMatchObject({ failure: "aborted", events: ["start", "error"] });
    const mid = await exchange(client, up.origin, {}, { onData: (c) => c.abort() });
    expect(mid).toMatchObject({ status: 200, failure: "aborted", body: "first" });
    await expect.poll(() => closed).toBe(1);
  });

  it("reports an upstream that is down, or that breaks off, as unreachable", async () => {
    const free = net.createServer();
    const port = (await listen(free)).split(":")[1];
    await new Promise<void>((r) => free.close(() => r()));
    const client = newClient();
    const down = await exchange(client, `http://127.0.0.1:${port}`, {});
    expect(down).toMatchObject({ failure: "unreachable", events: ["start", "error"] });
    expect((down.error as NodeJS.ErrnoException).code).toBe("ECONNREFUSED");

    const cut = await rawServer((s) => s.end("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"));
    expect(await exchange(client, cut, {})).toMatchObject({ failure: "unreachable", body: "abc" });
    const garbage = await rawServer((s) => s.end("SSH-2.0-OpenSSH\r\n\r\n"));
    expect(await exchange(client, garbage, {})).toMatchObject({
      failure: "unreachable",
      events: ["start", "error"],
    });
    // A body delimited by the connection's close is complete when it closes.
    const untilClose = await rawServer((s) => s.end("HTTP/1.1 200 OK\r\n\r\nall of it"));
    expect(await exchange(client, untilClose, {})).toMatchObject({ failure: null, body: "all of it" });
  });

  it("refuses a request that would corrupt the head, without sending anything", async () => {
    let requests = 0;
    const up = await httpServer((_req, res) => {
      requests++;
      res.end();
    });
    const client = newClient();
    const corrupting: Array<Partial<UpstreamRequest>> = [
      { headers: { "x-a": "1\r\nx-injected: yes" } },
      { headers: { "bad name": "1" } },
      { path: "/a b" },
      { method: "GET /x HTTP/1.1\r\n" },
      { path: "/v1/models\u010d\u010aX-Injected: yes" }, // low bytes CR LF once written as Latin-1
      // A Buffer body whose declared length is wrong would desynchronise the connection.
      { method: "POST", headers: { "content-length": "3" }, body: Buffer.from("hello") },
    ];
    for (const request of corrupting) {
      expect(await exchange(client, up.origin, request)).toMatchObject({
        failure: "unreachable",
        events: ["start", "error"],
      });
    }
    expect(requests).toBe(0);
  });

  it("does not reuse a connection the upstream closes, or keep one past its keep-alive timeout", async () => {
    const closing = await rawServer((s) =>
      s.end("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"),
    );
    const client = newClient();
    for (let i = 0; i < 3; i++) expect((await exchange(client, closing, {})).body).toBe("ok");
    // Keep-Alive: timeout=1 leaves no time to reuse the connection safely (1 s margin).
    const brief = await rawServer((s) =>
      s.write("HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\nContent-Length: 2\r\n\r\nok"),
    );
    expect((await exchange(client, brief, {})).body).toBe("ok");
    await new Promise((r) => setTimeout(r, 1100));
    expect((await exchange(client, brief, {})).body).toBe("ok");
  });

  it("a reused connection closed unanswered: a GET is sent again, a POST gets the error", async () => {
    // The upstream answers the first request on each connection, then drops the connection
    // as the next request arrives (as if its idle timeout had just run out).
    const dropping = await rawServer((s, seen) => {
      if (seen.split("\r\n\r\n").length > 2) return void s.destroy();
      if (!s.writableEnded) s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    });
    const client = newClient();
    expect((await exchange(client, dropping, {})).body).toBe("ok");
    expect(await exchange(client, dropping, {})).toMatchObject({ status: 200, body: "ok", failure: null });
    const post = await exchange(client, dropping, {
      method: "POST",
      headers: { "content-length": "1" },
      body: Buffer.from("x"),
    });
    expect(post).toMatchObject({ failure: "unreachable", events: ["start", "error"] });
  });

  it("speaks TLS to https upstreams, checking the certificate and resuming sessions", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "kw-tls-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "cert.pem",
        "-days",
        "1",
      ].concat(["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"]),
      { cwd: dir, stdio: "ignore" },
    );
    const cert = readFileSync(path.join(dir, "cert.pem"));
    const resumed: boolean[] = [];
    const server = https.createServer({ key: readFileSync(path.join(dir, "key.pem")), cert }, (req, res) => {
      resumed.push((req.socket as TLSSocket).isSessionReused());
      // Every answer closes its connection, so each request needs a new one.
      res.setHeader("connection", "close");
      res.end("secure");
    });
    const port = (await listen(server)).split(":")[1];
    const trusted = newClient(2000, { tls: { ca: cert } });
    for (let i = 0; i < 2; i++) {
      expect(await exchange(trusted, `https://localhost:${port}`, {})).toMatchObject({
        status: 200,
        body: "secure",
      });
    }
    // The second connection resumed the first one's TLS session instead of a full handshake.
    expect(resumed).toEqual([false, true]);
    const untrusting = newClient();
    expect(await exchange(untrusting, `https://localhost:${port}`, {})).toMatchObject({
      failure: "unreachable",
    });
  });

  it("close waits for running exchanges, then refuses new ones", async () => {
    const up = await httpServer((_req, res) => setTimeout(() => res.end("late"), 100));
    const client = new UpstreamClient({ timeoutMs: 2000, maxConnections: 1 });
    const running = exchange(client, up.origin, {});
    const queued = exchange(client, up.origin, {});
    await new Promise((r) => setTimeout(r, 20));
    await client.close();
    expect((await running).body).toBe("late");
    expect((await queued).body).toBe("late");
    expect(await exchange(client, up.origin, {})).toMatchObject({ failure: "unreachable" });
  });
});
