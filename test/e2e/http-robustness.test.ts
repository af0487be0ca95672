import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/harness.js";
import { startMockUpstream, type MockUpstream } from "../support/mock-upstream.js";

/**
 * Malformed and hostile input at the real server's socket: each gets a 4xx or a close, fast,
 * and never reaches the gateway or the upstream. The transport does not depend on the store, so
 * one dialect is enough.
 */

interface RawAnswer {
  /** What the server wrote before it closed (or before `waitMs` ran out). */
  text: string;
  /** ms from the last byte sent to the first byte of an answer or the close, whichever came first. */
  answeredAfterMs: number;
  closed: boolean;
}

/** Sends `parts` (with `gapMs` between them) and waits for an answer or a close. */
function raw(port: number, parts: Array<string | Buffer>, gapMs = 0, waitMs = 5_000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let text = "";
    let sentAt = 0;
    let answeredAt = 0;
    const finish = (closed: boolean) => {
      clearTimeout(giveUp);
      socket.destroy();
      resolve({ text, answeredAfterMs: (answeredAt || performance.now()) - sentAt, closed });
    };
    const giveUp = setTimeout(() => finish(false), waitMs);
    socket.on("data", (d) => {
      answeredAt ||= performance.now();
      text += d.toString("latin1");
    });
    socket.on("close", () => finish(true));
    socket.on("error", () => {});
    socket.once("connect", async () => {
      for (const [i, part] of parts.entries()) {
        if (i > 0 && gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
        if (socket.destroyed) return;
        socket.write(part);
        sentAt = performance.now();
      }
    });
    socket.once("error", reject);
  });
}

/** The start of a TLS 1.2/1.3 ClientHello, as a TLS client sends it to a port it thinks is HTTPS. */
const CLIENT_HELLO = Buffer.from(
  "16030100c4010000c00303" + "ab".repeat(32) + "00" + "0004130113020100" + "0093" + "00".repeat(0x93),
  "hex",
);

describe("the server's answer to malformed and hostile input", () => {
  let mock: MockUpstream;
  let t: TestServer;
  let port: number;
  let key: string;

  beforeAll(async () => {
    mock = await startMockUpstream();
    t = await startTestServer("sqlite", {
      config: {
        upstreamBaseUrl: mock.url,
        upstreamApiKey: "sk-mock-provider-key",
        headersTimeoutMs: 500,
        requestTimeoutMs: 1_000,
      },
      logLevel: "silent",
    });
    port = t.server.port;
    const project = await t.client.createProject({ name: "robust" });
    key = (await t.client.createKey(project.id, { name: "k" })).key;
  });
  afterAll(async () => {
    await t?.stop();
    await mock?.close();
  });

  it("bare-LF line endings: 400 at once", async () => {
    for (const target of ["/v1/chat/completions", "/api/v1/keys"]) {
      const r = await raw(port, [`POST ${target} HTTP/1.1\nhost: kw\ncontent-length: 2\n\n{}`]);
      expect(r.text).toMatch(/^HTTP\/1\.1 400 /);
      expect(r.answeredAfterMs).toBeLessThan(1_000);
    }
  });

  it("a TLS ClientHello on the plain-HTTP port: 400 or a close at once", async () => {
    const r = await raw(port, [CLIENT_HELLO]);
    expect(r.closed || /^HTTP\/1\.1 400 /.test(r.text)).toBe(true);
    expect(r.text === "" || /^HTTP\/1\.1 400 /.test(r.text)).toBe(true);
    expect(r.answeredAfterMs).toBeLessThan(1_000);
  });

  it("an oversized header block: 431", async () => {
    const r = await raw(port, [
      `GET /v1/models HTTP/1.1\r\nhost: kw\r\nx-big: ${"a".repeat(20_000)}\r\n\r\n`,
    ]);
    expect(r.text).toMatch(/^HTTP\/1\.1 431 /);
  });

  it("slow-loris: a head that never completes is cut after headersTimeout", async () => {
    const started = performance.now();
    // One header line every 200 ms, forever (within the test's 5 s wait).
    const lines = ["GET /v1/models HTTP/1.1\r\n", ...Array.from({ length: 25 }, (_, i) => `x-${i}: y\r\n`)];
    const r = await raw(port, lines, 200);
    const heldMs = performance.now() - started;
    expect(r.closed).toBe(true);
    expect(r.text === "" || /^HTTP\/1\.1 408 /.test(r.text)).toBe(true);
    // headersTimeout (500 ms) plus the server's check interval (125 ms), with slack for a busy machine.
    expect(heldMs).toBeLessThan(2_500);
  });

  it("a body that trickles in longer than requestTimeout is cut", async () => {
    const started = performance.now();
    const head = `POST /v1/chat/completions HTTP/1.1\r\nhost: kw\r\nauthorization: Bearer ${key}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n`;
    const r = await raw(port, [head, ...Array.from({ length: 30 }, () => " ")], 150);
    expect(r.closed).toBe(true);
    expect(performance.now() - started).toBeLessThan(4_000);
  });

  it("request smuggling: Content-Length with Transfer-Encoding, or two lengths, is refused whole", async () => {
    const smuggles = [
      "POST /v1/chat/completions HTTP/1.1\r\nhost: kw\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\nGET /v1/hidden HTTP/1.1\r\nhost: kw\r\n\r\n",
      "POST /v1/chat/completions HTTP/1.1\r\nhost: kw\r\ncontent-length: 4\r\ncontent-length: 40\r\n\r\nabcdGET /v1/hidden HTTP/1.1\r\n\r\n",
      "POST /v1/chat/completions HTTP/1.1\r\nhost: kw\r\ntransfer-encoding: chunked, identity\r\n\r\n0\r\n\r\n",
      "POST /v1/chat/completions HTTP/1.1\r\nhost: kw\r\ntransfer-encoding : chunked\r\n\r\n0\r\n\r\n",
    ];
    for (const s of smuggles) {
      const r = await raw(port, [s]);
      expect(r.text).toMatch(/^HTTP\/1\.1 400 /);
      expect(r.text.match(/HTTP\/1\.1/g)).toHaveLength(1);
      expect(r.closed).toBe(true);
    }
  });

  it("a well-formed chunked request still reaches the gateway", async () => {
    const body = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
    const r = await raw(port, [
      `POST /v1/chat/completions HTTP/1.1\r\nhost: kw\r\nconnection: close\r\nauthorization: Bearer ${key}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
    ]);
    expect(r.text).toMatch(/^HTTP\/1\.1 200 /);
    expect(r.text).toContain('"usage"');
    expect(mock.stats.lastRequest?.body.toString()).toContain('"content":"hi"');
  });
});

describe("an upstream that answers with a malformed or smuggling response", () => {
  let upstream: net.Server;
  let answer = "";
  let t: TestServer;
  let key: string;

  beforeAll(async () => {
    // Answers every request head with `answer`, then closes.
    upstream = net.createServer((s) => {
      s.on("error", () => {});
      s.once("data", () => s.end(answer));
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    const { port } = upstream.address() as net.AddressInfo;
    t = await startTestServer("sqlite", {
      config: { upstreamBaseUrl: `http://127.0.0.1:${port}/v1`, upstreamApiKey: "sk-mock-provider-key" },
      logLevel: "silent",
    });
    const project = await t.client.createProject({ name: "bad-upstream" });
    key = (await t.client.createKey(project.id, { name: "k" })).key;
  });
  afterAll(async () => {
    await t?.stop();
    await new Promise<void>((r) => upstream.close(() => r()));
  });

  const matrix: Array<[string, string]> = [
    [
      "Content-Length with Transfer-Encoding",
      "HTTP/1.1 200 OK\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
    ],
    ["two different lengths", "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 20\r\n\r\n{}"],
    ["a bare-LF head", "HTTP/1.1 200 OK\ncontent-length: 2\n\n{}"],
    ["a NUL in a header value", "HTTP/1.1 200 OK\r\nx-a: a\u0000b\r\ncontent-length: 2\r\n\r\n{}"],
    ["a space before the colon", "HTTP/1.1 200 OK\r\ncontent-length : 2\r\n\r\n{}"],
    ["not HTTP at all", "SSH-2.0-OpenSSH_9.6\r\n\r\n"],
    ["a bad chunk size", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"],
  ];
  it.each(matrix)("%s: 502, and nothing of it relayed", async (_name, bad) => {
    answer = bad;
    // A metered endpoint: its JSON answer is read whole before anything goes to the client.
    const res = await fetch(`${t.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
    });
    const text = await res.text();
    expect(res.status).toBe(502);
    expect(res.headers.get("x-a")).toBeNull();
    expect(JSON.parse(text)).toMatchObject({ error: { type: expect.any(String) } });
  });
});
