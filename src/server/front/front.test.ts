import { once } from "node:events";
import { createServer, type Server } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { GatewayRequest, GatewayResponse } from "../../gateway/exchange.js";
import { attachFront, type Front, type FrontOptions } from "./front.js";

interface Served {
  req: GatewayRequest;
  res: GatewayResponse;
  body: Buffer;
}

/** A node:http server ("node" answers) with a front that claims /v1 and hands requests to `serve`. */
async function start(serve: (s: Served) => void, options: Partial<FrontOptions> = {}) {
  const nodeSeen: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      nodeSeen.push(`${req.method} ${req.url} ${Buffer.concat(chunks).toString()}`);
      const body = `node:${req.url}`;
      res.writeHead(200, { "content-length": Buffer.byteLength(body) });
      res.end(body);
    });
  });
  const front = attachFront(server, {
    claims: (target) => target.startsWith("/v1"),
    serve: (req, res) => {
      void req.readBody(1 << 20).then((body) => {
        if (typeof body === "string") throw new Error(body);
        serve({ req, res, body });
      });
    },
    maxHeadBytes: 16 * 1024,
    maxBodyBytes: 1024,
    headersTimeoutMs: 60_000,
    requestTimeoutMs: 300_000,
    keepAliveTimeoutMs: 65_000,
    ...options,
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  running.push({ server, front });
  return { server, front, nodeSeen, port: (server.address() as AddressInfo).port };
}

const running: Array<{ server: Server; front: Front }> = [];
afterEach(async () => {
  for (const { server: s, front } of running.splice(0)) {
    front.closeAll();
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** Answers `front:<url>:<body>` with a content-length. */
const echo = ({ req, res, body }: Served) => {
  const text = `front:${req.url}:${body.toString()}`;
  res.writeHead(200, { "content-type": "text/plain", "content-length": Buffer.byteLength(text) });
  res.end(text);
};

/** A raw client: everything the server sent until it closed or `until` matched. */
class Raw {
  readonly socket: Socket;
  text = "";
  closed = false;
  constructor(port: number) {
    this.socket = connect(port, "127.0.0.1");
    this.socket.setEncoding("latin1");
    this.socket.on("data", (d: string) => (this.text += d));
    this.socket.on("close", () => (this.closed = true));
  }
  send(s: string): this {
    this.socket.write(Buffer.from(s, "latin1"));
    return this;
  }
  async until(check: (text: string) => boolean, ms = 3000): Promise<string> {
    const end = Date.now() + ms;
    while (!check(this.text)) {
      if (Date.now() > end) throw new Error(`timed out; got: ${JSON.stringify(this.text)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.text;
  }
  async untilClosed(ms = 3000): Promise<string> {
    const end = Date.now() + ms;
    while (!this.closed) {
      if (Date.now() > end) throw new Error(`not closed; got: ${JSON.stringify(this.text)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.text;
  }
}

const post = (path: string, body: string, extra = "") =>
  `POST ${path} HTTP/1.1\r\nhost: kw\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
const get = (path: string, extra = "") => `GET ${path} HTTP/1.1\r\nhost: kw\r\n${extra}\r\n`;

describe("front", () => {
  it("serves a claimed request itself: the handler gets method, target, headers, body, address", async () => {
    let seen: GatewayRequest | null = null;
    const { port, nodeSeen } = await start((s) => {
      seen = s.req;
      echo(s);
    });
    const c = new Raw(port).send(post("/v1/chat?x=1", '{"a":1}', "Authorization: Bearer k\r\n"));
    const text = await c.until((t) => t.endsWith('front:/v1/chat?x=1:{"a":1}'));
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(text).toContain("content-type: text/plain\r\n");
    expect(text).toMatch(/\r\ndate: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT\r\n/);
    expect(text).toContain("connection: keep-alive\r\nkeep-alive: timeout=65\r\n\r\n");
    expect(seen!.method).toBe("POST");
    expect(seen!.headers.authorization).toBe("Bearer k");
    expect(seen!.remoteAddress).toBe("127.0.0.1");
    expect(nodeSeen).toEqual([]);
    c.socket.destroy();
  });

  it("serves fetch clients, keep-alive and all", async () => {
    const { port } = await start(echo);
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/v1/e`, { method: "POST", body: `n${i}` });
      expect(await res.text()).toBe(`front:/v1/e:n${i}`);
    }
  });

  it("hands other paths to node:http, on a fresh connection and after front requests on the same one", async () => {
    const { port, nodeSeen } = await start(echo);
    const a = new Raw(port).send(get("/api/v1/keys"));
    await a.until((t) => t.endsWith("node:/api/v1/keys"));
    const b = new Raw(port).send(post("/v1/one", "1"));
    await b.until((t) => t.endsWith("front:/v1/one:1"));
    b.send(post("/api/x", "body"));
    await b.until((t) => t.endsWith("node:/api/x"));
    // Handed over for good: node answers later /v1 requests on that connection too.
    b.send(post("/v1/two", "2"));
    await b.until((t) => t.endsWith("node:/v1/two"));
    expect(nodeSeen).toEqual(["GET /api/v1/keys ", "POST /api/x body", "POST /v1/two 2"]);
    a.socket.destroy();
    b.socket.destroy();
  });

  it("answers pipelined requests in order, across a hand-over, from one write", async () => {
    const { port } = await start(echo);
    const c = new Raw(port).send(
      post("/v1/a", "A") + post("/v1/b", "B") + get("/other") + post("/v1/c", "C"),
    );
    const text = await c.until((t) => t.endsWith("node:/v1/c"));
    const order = ["front:/v1/a:A", "front:/v1/b:B", "node:/other", "node:/v1/c"].map((s) => text.indexOf(s));
    expect(order.every((i, k) => i > 0 && (k === 0 || i > order[k - 1]!))).toBe(true);
    c.socket.destroy();
  });

  it("waits for a head and body that arrive in pieces", async () => {
    const { port } = await start(echo);
    const whole = post("/v1/slow", "0123456789");
    const c = new Raw(port);
    for (let i = 0; i < whole.length; i += 7) {
      c.send(whole.slice(i, i + 7));
      await new Promise((r) => setTimeout(r, 2));
    }
    await c.until((t) => t.endsWith("front:/v1/slow:0123456789"));
    c.socket.destroy();
  });

  it("hands node:http what it must judge: chunked bodies, bodies over the front's limit, smuggling attempts", async () => {
    const { port, nodeSeen } = await start(echo);
    const chunked = new Raw(port).send(
      "POST /v1/c HTTP/1.1\r\nhost: kw\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    );
    await chunked.until((t) => t.endsWith("node:/v1/c"));
    const big = new Raw(port).send(post("/v1/big", "x".repeat(2000)));
    await big.until((t) => t.endsWith("node:/v1/big"));
    // CL and TE together: node's rules (it refuses the request), never the front's.
    const smuggle = new Raw(port).send(
      "POST /v1/s HTTP/1.1\r\nhost: kw\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\nGET /v1/hidden HTTP/1.1\r\nhost: kw\r\n\r\n",
    );
    const refused = await smuggle.untilClosed();
    expect(refused).toMatch(/^HTTP\/1\.1 400 /);
    expect(refused).not.toContain("/v1/hidden");
    expect(nodeSeen).toEqual(["POST /v1/c abc", `POST /v1/big ${"x".repeat(2000)}`]);
    for (const c of [chunked, big]) c.socket.destroy();
  });

  it("closes after the response when the client says Connection: close", async () => {
    const { port } = await start(echo);
    const c = new Raw(port).send(post("/v1/x", "1", "connection: close\r\n"));
    const text = await c.untilClosed();
    expect(text).toContain("connection: close\r\n");
    expect(text.endsWith("front:/v1/x:1")).toBe(true);
  });

  it("closes after the response when the handler says Connection: close", async () => {
    const { port } = await start(({ res }) => {
      res.writeHead(413, { "content-length": 2, connection: "close" });
      res.end("no");
    });
    const c = new Raw(port).send(post("/v1/x", "1"));
    const text = await c.untilClosed();
    expect(text).toMatch(/^HTTP\/1\.1 413 Payload Too Large\r\n/);
    expect(text.match(/connection: /g)).toEqual(["connection: "]);
    expect(text).toContain("connection: close\r\n");
  });

  it("takes a client that half-closes as gone, as node:http does: the handler hears close", async () => {
    let closed = false;
    const { port } = await start(({ res }) => res.on("close", () => (closed = true)));
    const c = new Raw(port).send(post("/v1/x", "1"));
    await new Promise((r) => setTimeout(r, 50));
    c.socket.end();
    expect(await c.untilClosed()).toBe("");
    expect(closed).toBe(true);
  });

  it("writes chunked bodies when there is no content-length, and no body for HEAD", async () => {
    const { port } = await start(({ req, res }) => {
      res.writeHead(200, ["content-type", "text/event-stream"]);
      res.flushHeaders();
      res.write("data: 1\n\n");
      res.write(Buffer.from("data: é\n\n"));
      res.write("");
      res.end(req.method === "HEAD" ? undefined : "data: [DONE]\n\n");
    });
    const res = await fetch(`http://127.0.0.1:${port}/v1/stream`);
    expect(res.headers.get("transfer-encoding")).toBe("chunked");
    expect(await res.text()).toBe("data: 1\n\ndata: é\n\ndata: [DONE]\n\n");
    const c = new Raw(port).send(`HEAD /v1/stream HTTP/1.1\r\nhost: kw\r\n\r\n`);
    const text = await c.until((t) => t.endsWith("\r\n\r\n"));
    await new Promise((r) => setTimeout(r, 50));
    expect(c.text).toBe(text); // nothing after the head
    c.socket.destroy();
  });

  it("tells the handler when the client goes away mid-response", async () => {
    let closed = false;
    let finished: boolean | null = null;
    const { port } = await start(({ res }) => {
      res.on("close", () => {
        closed = true;
        finished = res.writableFinished;
      });
      res.writeHead(200, []);
      res.write("partial");
    });
    const c = new Raw(port).send(get("/v1/long"));
    await c.until((t) => t.includes("partial"));
    c.socket.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(true);
    expect(finished).toBe(false);
  });

  it("refuses a bad response header before sending anything", async () => {
    let error: unknown = null;
    const { port } = await start(({ res }) => {
      try {
        res.writeHead(200, ["x-evil", "a\r\nset-cookie: b"]);
      } catch (err) {
        error = err;
      }
      res.writeHead(502, { "content-length": 0 });
      res.end();
    });
    const c = new Raw(port).send(get("/v1/x"));
    const text = await c.until((t) => t.endsWith("\r\n\r\n"));
    expect(error).toBeInstanceOf(TypeError);
    expect(text).toMatch(/^HTTP\/1\.1 502 /);
    expect(text).not.toContain("set-cookie");
    c.socket.destroy();
  });

  it("cuts a head or a body that is not complete in time, and idle connections after the keep-alive timeout", async () => {
    const { port, front } = await start(echo, {
      headersTimeoutMs: 300,
      requestTimeoutMs: 600,
      keepAliveTimeoutMs: 300,
    });
    const slowHead = new Raw(port).send("POST /v1/x HTTP/1.1\r\nhost: kw\r\n");
    const slowBody = new Raw(port).send(post("/v1/x", "0123456789").slice(0, -5));
    const idle = new Raw(port).send(post("/v1/x", "1"));
    await idle.until((t) => t.endsWith("front:/v1/x:1"));
    for (const c of [slowHead, slowBody]) expect(await c.untilClosed(3000)).toMatch(/^HTTP\/1\.1 408 /);
    expect(await idle.untilClosed(3000)).not.toContain("408");
    expect(front.connections).toBe(0);
  });

  it("on shutdown closes idle connections now and busy ones after their response", async () => {
    const waiting = new Map<string, GatewayResponse>();
    const { port, front } = await start(({ req, res }) => waiting.set(req.url, res));
    const answer = (url: string) => {
      waiting.get(url)!.writeHead(200, { "content-length": 2 });
      waiting.get(url)!.end("ok");
    };
    const idle = new Raw(port).send(get("/v1/idle"));
    const busy = new Raw(port).send(get("/v1/busy"));
    while (waiting.size < 2) await new Promise((r) => setTimeout(r, 5));
    answer("/v1/idle");
    expect(await idle.until((t) => t.endsWith("ok"))).toContain("connection: keep-alive\r\n");
    front.closeIdle();
    await idle.untilClosed();
    expect(busy.closed).toBe(false);
    answer("/v1/busy");
    const text = await busy.untilClosed();
    expect(text).toContain("connection: close\r\n");
    expect(text.endsWith("ok")).toBe(true);
  });
});
