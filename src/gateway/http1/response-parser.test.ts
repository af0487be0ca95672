import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  MalformedResponseError,
  ResponseParser,
  headerValue,
  type ResponseHeaders,
} from "./response-parser.js";

interface Parsed {
  status: number;
  headers: ResponseHeaders;
  body: string;
  complete: boolean;
  heads: number;
}

/** Parses `wire` fed in the given pieces; `close` ends the connection afterwards. */
function parse(pieces: Buffer[], opts: { head?: boolean; close?: boolean } = {}) {
  const out: Parsed = { status: 0, headers: [], body: "", complete: false, heads: 0 };
  const body: Buffer[] = [];
  const parser = new ResponseParser();
  parser.reset(
    {
      onHead: (status, headers) => {
        out.status = status;
        out.headers = headers;
        out.heads++;
      },
      onBody: (chunk) => body.push(Buffer.from(chunk)),
    },
    opts.head ?? false,
  );
  let extra = 0;
  for (const p of pieces) extra += parser.push(p);
  if (opts.close) parser.end();
  out.complete = parser.done;
  out.body = Buffer.concat(body).toString("latin1");
  return { ...out, extra, keepAlive: parser.keepAlive };
}

const bytes = (s: string): Buffer => Buffer.from(s, "latin1");

/** Every way of cutting `s` in two, plus byte by byte. */
function everySplit(s: string): Buffer[][] {
  const b = bytes(s);
  const out: Buffer[][] = [[...b].map((x) => Buffer.from([x]))];
  for (let i = 0; i <= b.length; i++) out.push([b.subarray(0, i), b.subarray(i)]);
  return out;
}

describe("ResponseParser", () => {
  it("reads a Content-Length response however its bytes are split", () => {
    const wire = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"a":"b c"}';
    for (const pieces of everySplit(wire)) {
      const r = parse(pieces);
      expect(r).toMatchObject({
        status: 200,
        body: '{"a":"b c"}',
        complete: true,
        keepAlive: true,
        heads: 1,
      });
      expect(headerValue(r.headers, "content-type")).toBe("application/json");
    }
  });

  it("decodes chunked bodies with extensions and trailers, split anywhere", () => {
    const wire =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/event-stream\r\n\r\n" +
      "5;name=value\r\nhello\r\n1A\r\n" +
      "abcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: yes\r\n\r\n";
    for (const pieces of everySplit(wire)) {
      const r = parse(pieces);
      expect(r).toMatchObject({ body: "helloabcdefghijklmnopqrstuvwxyz", complete: true, keepAlive: true });
    }
    for (const pieces of everySplit(
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    ))
      expect(parse(pieces)).toMatchObject({ body: "abc", complete: true });
  });

  it("skips interim 1xx responses", () => {
    const r = parse([
      bytes("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"),
    ]);
    expect(r).toMatchObject({ status: 201, body: "ok", heads: 1, complete: true });
  });

  it("knows which responses have no body", () => {
    expect(parse([bytes("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n")], { head: true })).toMatchObject({
      complete: true,
      body: "",
    });
    for (const status of [204, 304])
      expect(parse([bytes(`HTTP/1.1 ${status} X\r\n\r\n`)])).toMatchObject({
        status,
        complete: true,
        keepAlive: true,
      });
    expect(parse([bytes("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")])).toMatchObject({ complete: true });
  });

  it("reads a body without length until the connection closes, and does not reuse it", () => {
    const half = parse([bytes("HTTP/1.1 200 OK\r\n\r\npart one, "), bytes("part two")]);
    expect(half).toMatchObject({ body: "part one, part two", complete: false });
    const r = parse([bytes("HTTP/1.1 200 OK\r\n\r\nall")], { close: true });
    expect(r).toMatchObject({ body: "all", complete: true, keepAlive: false });
  });

  it("follows Connection and the HTTP version for reuse", () => {
    expect(
      parse([bytes("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")]).keepAlive,
    ).toBe(false);
    expect(parse([bytes("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")]).keepAlive).toBe(false);
    expect(
      parse([bytes("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n")]).keepAlive,
    ).toBe(true);
    // Both framings: Transfer-Encoding wins, and the connection is not trusted again.
    const both = parse([
      bytes("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"),
    ]);
    expect(both).toMatchObject({ body: "x", complete: true, keepAlive: false });
  });

  it("reads the upstream's Keep-Alive timeout", () => {
    const parser = new ResponseParser();
    const sink = { onHead: () => {}, onBody: () => {} };
    for (const [field, seconds] of [
      ["Keep-Alive: timeout=5, max=100\r\n", 5],
      ["keep-alive: max=100,timeout=65\r\n", 65],
      ["Keep-Alive: max=100\r\n", null],
      ["", null],
    ] as const) {
      parser.reset(sink, false);
      parser.push(bytes(`HTTP/1.1 200 OK\r\n${field}Content-Length: 0\r\n\r\n`));
      expect(parser.keepAliveTimeoutSeconds, field).toBe(seconds);
    }
  });

  it("keeps headers in order with lower-case names, repeats included, values trimmed", () => {
    const r = parse([
      bytes(
        "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nX-A:   v \t \r\nX-Empty:\r\nContent-Length: 0\r\n\r\n",
      ),
    ]);
    expect(r.headers).toEqual([
      "set-cookie",
      "a=1",
      "set-cookie",
      "b=2",
      "x-a",
      "v",
      "x-empty",
      "",
      "content-length",
      "0",
    ]);
    expect(headerValue(r.headers, "set-cookie")).toBe("a=1, b=2");
    expect(headerValue(r.headers, "x-b")).toBeUndefined();
  });

  it("reports the bytes that follow a complete response", () => {
    expect(parse([bytes("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1")]).extra).toBe(8);
  });

  it("refuses what is not a well-formed response", () => {
    const bad = [
      "HTTP/2 200 OK\r\n\r\n",
      "HTTP/1.1 2000 OK\r\n\r\n",
      "ICY 200 OK\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX-A : 1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX A: 1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX-A: 1\nX-B: 2\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX-A: 1\rX-B: 2\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX-A: a\x01b\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX-A: a\x7fb\r\n\r\n",
      "HTTP/1.1 099 Low\r\n\r\n",
      "HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
      "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
      "HTTP/1.1 200OK\r\n\r\n",
      "HTTP/1.1 20 OK\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
      "HTTP/1.1 101 Switching Protocols\r\n\r\n",
    ];
    for (const wire of bad) expect(() => parse([bytes(wire)]), wire).toThrow(MalformedResponseError);
    expect(() => parse([bytes("HTTP/1.1 200 OK\r\nX-Big: " + "a".repeat(70_000))])).toThrow(/larger than/);
    expect(() =>
      parse([bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + "e".repeat(5000))]),
    ).toThrow(/larger than/);
  });

  it("a connection that closes early is an error; one that never answered says so", () => {
    expect(() => parse([], { close: true })).toThrow("the upstream closed the connection");
    expect(() => parse([bytes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab")], { close: true })).toThrow(
      /mid-response/,
    );
    expect(() =>
      parse([bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab")], { close: true }),
    ).toThrow(/mid-response/);
  });

  it("property: any body, framed either way and cut anywhere, comes out whole", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 600 }),
        fc.boolean(),
        fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 20 }),
        fc.array(fc.integer({ min: 0, max: 2000 }), { maxLength: 12 }),
        (raw, chunked, chunkSizes, cuts) => {
          const body = Buffer.from(raw);
          let wire: Buffer;
          if (chunked) {
            const parts: Buffer[] = [bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")];
            let at = 0;
            for (let i = 0; at < body.length; i++) {
              const n = Math.min(chunkSizes[i % chunkSizes.length]!, body.length - at);
              parts.push(bytes(`${n.toString(16)}\r\n`), body.subarray(at, at + n), bytes("\r\n"));
              at += n;
            }
            parts.push(bytes("0\r\n\r\n"));
            wire = Buffer.concat(parts);
          } else {
            wire = Buffer.concat([bytes(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body]);
          }
          const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
          const pieces: Buffer[] = [];
          let prev = 0;
          for (const p of [...points, wire.length]) {
            pieces.push(wire.subarray(prev, p));
            prev = p;
          }
          const r = parse(pieces);
          expect(r.complete).toBe(true);
          expect(Buffer.from(r.body, "latin1").equals(body)).toBe(true);
          expect(r.extra).toBe(0);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
