import { describe, expect, it } from "vitest";
import { HeadEndScanner, readRequestHead, type RequestHead } from "./request-head.js";

const read = (text: string, max = 16 * 1024) => readRequestHead(Buffer.from(text, "latin1"), max);

function head(text: string): RequestHead {
  const r = read(text);
  if (typeof r === "string") throw new Error(`expected a head, got ${r}`);
  return r;
}

describe("readRequestHead", () => {
  it("reads an ordinary request: method, target, lower-case headers, body length, size", () => {
    const text =
      "POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: kw\r\nContent-Type: application/json\r\n" +
      "Authorization:   Bearer kw_live_abc  \r\nContent-Length: 17\r\n\r\n";
    const h = head(text + '{"model":"gpt-4"}');
    expect(h.method).toBe("POST");
    expect(h.target).toBe("/v1/chat/completions?x=1");
    expect({ ...h.headers }).toEqual({
      host: "kw",
      "content-type": "application/json",
      authorization: "Bearer kw_live_abc",
      "content-length": "17",
    });
    expect(h.bodyLength).toBe(17);
    expect(h.keepAlive).toBe(true);
    expect(h.size).toBe(Buffer.byteLength(text));
  });

  it("has no body without content-length, and honours Connection: close", () => {
    const h = head("GET /v1/models HTTP/1.1\r\nhost: kw\r\nconnection: Keep-Alive, Close\r\n\r\n");
    expect(h.bodyLength).toBe(0);
    expect(h.keepAlive).toBe(false);
  });

  it("keeps header names that are Object.prototype names as plain keys", () => {
    const h = head("GET /v1/models HTTP/1.1\r\nhost: kw\r\n__proto__: x\r\nconstructor: y\r\n\r\n");
    expect(h.headers["__proto__"]).toBe("x");
    expect(h.headers.constructor).toBe("y");
  });

  it("keeps latin-1 bytes of values as node:http does", () => {
    const h = head("GET /v1/models HTTP/1.1\r\nhost: kw\r\nx-note: caf\xe9\r\n\r\n");
    expect(h.headers["x-note"]).toBe("café");
  });

  it("waits for the rest of a head", () => {
    expect(read("POST /v1/chat/completions HTTP/1.1\r\nHost: kw\r\n")).toBe("incomplete");
    expect(read("")).toBe("incomplete");
  });

  it("hands over a head longer than the limit, complete or not", () => {
    const big = `GET /v1/models HTTP/1.1\r\nhost: kw\r\nx-big: ${"a".repeat(200)}\r\n\r\n`;
    expect(read(big, 100)).toBe("other");
    expect(read(big.slice(0, 150), 100)).toBe("other");
  });

  // Everything below is node:http's to judge: the front must not read any of it.
  const others: Array<[string, string]> = [
    ["chunked body", "POST /v1/x HTTP/1.1\r\nhost: kw\r\ntransfer-encoding: chunked\r\n\r\n"],
    [
      "TE beside CL",
      "POST /v1/x HTTP/1.1\r\nhost: kw\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n",
    ],
    [
      "two content-lengths",
      "POST /v1/x HTTP/1.1\r\nhost: kw\r\ncontent-length: 3\r\ncontent-length: 3\r\n\r\n",
    ],
    ["a list content-length", "POST /v1/x HTTP/1.1\r\nhost: kw\r\ncontent-length: 3, 3\r\n\r\n"],
    ["a signed content-length", "POST /v1/x HTTP/1.1\r\nhost: kw\r\ncontent-length: +3\r\n\r\n"],
    ["an empty content-length", "POST /v1/x HTTP/1.1\r\nhost: kw\r\ncontent-length: \r\n\r\n"],
    ["a huge content-length", `POST /v1/x HTTP/1.1\r\nhost: kw\r\ncontent-length: ${"9".repeat(16)}\r\n\r\n`],
    [
      "any duplicate header",
      "GET /v1/x HTTP/1.1\r\nhost: kw\r\nauthorization: a\r\nAuthorization: b\r\n\r\n",
    ],
    ["no host", "GET /v1/x HTTP/1.1\r\naccept: */*\r\n\r\n"],
    ["expect", "POST /v1/x HTTP/1.1\r\nhost: kw\r\nexpect: 100-continue\r\ncontent-length: 1\r\n\r\n"],
    ["upgrade", "GET /v1/x HTTP/1.1\r\nhost: kw\r\nupgrade: websocket\r\n\r\n"],
    ["connection: upgrade", "GET /v1/x HTTP/1.1\r\nhost: kw\r\nconnection: Upgrade\r\n\r\n"],
    ["HTTP/1.0", "GET /v1/x HTTP/1.0\r\nhost: kw\r\n\r\n"],
    ["HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"],
    ["lower-case method", "get /v1/x HTTP/1.1\r\nhost: kw\r\n\r\n"],
    ["absolute-form target", "GET http://kw/v1/x HTTP/1.1\r\nhost: kw\r\n\r\n"],
    ["asterisk target", "OPTIONS * HTTP/1.1\r\nhost: kw\r\n\r\n"],
    ["space in target", "GET /v1/a b HTTP/1.1\r\nhost: kw\r\n\r\n"],
    ["non-ASCII target", "GET /v1/\xe9 HTTP/1.1\r\nhost: kw\r\n\r\n"],
    ["two spaces", "GET  /v1/x HTTP/1.1\r\nhost: kw\r\n\r\n"],
    ["leading blank line", "\r\nGET /v1/x HTTP/1.1\r\nhost: kw\r\n\r\n"],
    ["bare LF after the request line", "GET /v1/x HTTP/1.1\nhost: kw\r\n\r\n"],
    ["bare LF in a value", "GET /v1/x HTTP/1.1\r\nhost: kw\r\nx-a: 1\nx-b: 2\r\n\r\n"],
    ["bare CR in a value", "GET /v1/x HTTP/1.1\r\nhost: kw\r\nx-a: 1\rx-b: 2\r\n\r\n"],
    ["NUL in a value", "GET /v1/x HTTP/1.1\r\nhost: kw\r\nx-a: 1\0\r\n\r\n"],
    ["obs-fold", "GET /v1/x HTTP/1.1\r\nhost: kw\r\nx-a: 1\r\n  2\r\n\r\n"],
    ["space before the colon", "GET /v1/x HTTP/1.1\r\nhost: kw\r\ncontent-length : 0\r\n\r\n"],
    ["no colon", "GET /v1/x HTTP/1.1\r\nhost: kw\r\nnonsense\r\n\r\n"],
    ["empty name", "GET /v1/x HTTP/1.1\r\nhost: kw\r\n: x\r\n\r\n"],
    ["non-token name", "GET /v1/x HTTP/1.1\r\nhost: kw\r\nx(a): 1\r\n\r\n"],
  ];
  for (const [what, text] of others) {
    it(`hands over: ${what}`, () => expect(read(text)).toBe("other"));
  }
});

describe("HeadEndScanner", () => {
  it("finds the blank line byte by byte, and split across chunks every way", () => {
    const head = Buffer.from("GET /v1/models HTTP/1.1\r\nhost: kw\r\n\r\n");
    const bytes = new HeadEndScanner();
    for (let i = 0; i < head.length; i++)
      expect(bytes.push(head.subarray(i, i + 1))).toBe(i === head.length - 1);
    expect(bytes.at).toBe(head.length - 4);
    for (let cut = 1; cut < head.length; cut++) {
      const s = new HeadEndScanner();
      s.push(head.subarray(0, cut));
      expect(s.push(head.subarray(cut))).toBe(true);
      expect(s.at).toBe(head.length - 4);
    }
  });

  it("is not fooled by CR and LF that do not make a blank line", () => {
    const s = new HeadEndScanner();
    for (const part of ["GET / HTTP/1.1\r", "\n", "x: 1\r\n\r", "x"])
      expect(s.push(Buffer.from(part))).toBe(false);
  });

  it("starts over from the bytes left after a request", () => {
    const s = new HeadEndScanner();
    s.push(Buffer.from("GET / HTTP/1.1\r\n\r\n"));
    s.reset(Buffer.from("GET /next HTTP/1.1\r\n"));
    expect(s.found).toBe(false);
    expect(s.push(Buffer.from("\r\n"))).toBe(true);
    expect(s.at).toBe("GET /next HTTP/1.1".length);
    s.reset(null);
    expect(s.found).toBe(false);
  });
});
