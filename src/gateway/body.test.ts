import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBody, type BodyProblem } from "./body.js";

const LIMIT = 64;

/** A server that reads each body with `readBody` and hands the result to the test. */
let server: Server;
let port = 0;
let nextResult: (r: Buffer | BodyProblem) => void = () => {};

beforeAll(async () => {
  server = createServer((req, res) => {
    void readBody(req, LIMIT).then((r) => {
      nextResult(r);
      res.end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(
  () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
);

/** Sends `parts` as the body, one write each with a pause between, and returns what readBody saw. */
async function send(
  parts: string[],
  headers: Record<string, string | number>,
): Promise<{ result: Buffer | BodyProblem }> {
  const seen = new Promise<{ result: Buffer | BodyProblem }>((resolve) => {
    nextResult = (result) => resolve({ result });
  });
  const req = request({ port, method: "POST", path: "/", headers });
  req.on("response", (res) => res.resume());
  req.on("error", () => {});
  for (const p of parts) {
    req.write(p);
    await new Promise((r) => setTimeout(r, 15));
  }
  req.end();
  return seen;
}

describe("readBody", () => {
  it("hands on a Content-Length body once all of it has arrived, across several reads", async () => {
    const { result } = await send(['{"a":', '1,"b":', "2}"], { "content-length": 13 });
    expect(Buffer.isBuffer(result) && result.toString()).toBe('{"a":1,"b":2}');
  });

  it("reads a chunked body (no Content-Length) to its end", async () => {
    const { result } = await send(["abc", "def", "ghi"], { "transfer-encoding": "chunked" });
    expect(Buffer.isBuffer(result) && result.toString()).toBe("abcdefghi");
  });

  it("reads an empty body", async () => {
    const { result } = await send([], { "content-length": 0 });
    expect(Buffer.isBuffer(result) && result.length).toBe(0);
  });

  it("refuses a declared length over the limit before reading, and a chunked body that grows over it", async () => {
    expect((await send(["x"], { "content-length": LIMIT + 1 })).result).toBe("too_large");
    const big = "y".repeat(40);
    expect((await send([big, big], { "transfer-encoding": "chunked" })).result).toBe("too_large");
  });
});
