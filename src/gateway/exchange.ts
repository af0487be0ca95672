import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { readBody, type BodyProblem } from "./body.js";

/**
 * One request as the gateway reads it: the few things it uses of node:http's IncomingMessage,
 * so the handler's tests can drive it without a socket.
 */
export interface GatewayRequest {
  readonly method: string;
  /** The request target: path and query string. */
  readonly url: string;
  /** Lower-case names, as node:http gives them. */
  readonly headers: IncomingHttpHeaders;
  readonly remoteAddress: string | undefined;
  /** The whole body, or why it could not be had (over `limit` bytes, or the client went away). */
  readBody(limit: number): Promise<Buffer | BodyProblem>;
  /** The body unread, to forward as it arrives (uploads). */
  readonly bodyStream: Buffer | NodeJS.ReadableStream;
}

/**
 * The part of node:http's ServerResponse the gateway uses. `writeHead` takes a header record or
 * a flat `[name, value, …]` list.
 */
export interface GatewayResponse {
  readonly headersSent: boolean;
  readonly writableEnded: boolean;
  readonly writableFinished: boolean;
  readonly destroyed: boolean;
  writeHead(status: number, headers: Record<string, string | number> | string[]): unknown;
  /** False when the client is behind: wait for `drain`. */
  write(chunk: string | Buffer): boolean;
  end(chunk?: string | Buffer): unknown;
  /** Sends the head now, before any body. */
  flushHeaders(): void;
  destroy(): unknown;
  /** `close`: the exchange is over (if not `writableFinished`, the client went away first). */
  on(event: "close", listener: () => void): unknown;
  once(event: "drain", listener: () => void): unknown;
}

/** A node:http request as the gateway reads it. */
export function nodeRequest(req: IncomingMessage): GatewayRequest {
  return {
    method: req.method ?? "GET",
    url: req.url ?? "/",
    headers: req.headers,
    remoteAddress: req.socket.remoteAddress,
    readBody: (limit) => readBody(req, limit),
    bodyStream: req,
  };
}
