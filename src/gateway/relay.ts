import type { ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import type { Dispatcher } from "undici";
import type { TokenUsage } from "../usage/types.js";
import { clientResponseHeaders } from "./headers.js";
import type { RouteInfo } from "./routes.js";
import { SseRelay } from "./sse.js";
import { classifyFailure } from "./upstream-client.js";
import { usageFromJson } from "./usage-extract.js";

export interface RelayOptions {
  requestId: string;
  route: RouteInfo;
  /** Drop the usage-only SSE chunk (keyward asked for it, the client did not). */
  dropUsageChunk: boolean;
  /** For `GET /v1/models` under a model allowlist: list only the allowed models. */
  filterModels: ((model: string) => boolean) | null;
  /** Headers keyward adds (rate-limit state). */
  extraHeaders: Record<string, string>;
}

export interface Relayed {
  /** The status the client saw (499 when it went away first). */
  status: number;
  usage: TokenUsage | null;
  dataEvents: number;
}

/** Largest JSON body buffered to read usage from; larger ones are streamed through unread. */
const MAX_BUFFERED = 8 * 1024 * 1024;

/**
 * Sends the upstream's response to the client. Server-sent events go through event by event as
 * they arrive; JSON bodies of metered endpoints are read whole (they are small) for their usage;
 * everything else (audio, files) is piped through untouched.
 */
export async function relayResponse(
  res: ServerResponse,
  up: Dispatcher.ResponseData,
  o: RelayOptions,
): Promise<Relayed> {
  const contentType = String(up.headers["content-type"] ?? "");
  if (contentType.startsWith("text/event-stream")) return relaySse(res, up, o);
  const length = Number(up.headers["content-length"] ?? NaN);
  const readWhole = (o.route.usage !== "none" || o.filterModels !== null) && !(length > MAX_BUFFERED);
  if (readWhole) {
    let body: Buffer;
    try {
      body = Buffer.from(await up.body.arrayBuffer());
    } catch (err) {
      return brokenBeforeHeaders(res, err);
    }
    if (o.filterModels && up.statusCode === 200) body = filterModelList(body, o.filterModels);
    const headers = { ...clientResponseHeaders(up.headers, o.requestId, false), ...o.extraHeaders };
    headers["content-length"] = body.length;
    res.writeHead(up.statusCode, headers);
    res.end(body);
    return {
      status: up.statusCode,
      usage: up.statusCode < 400 ? usageFromJson(o.route.usage, body) : null,
      dataEvents: 0,
    };
  }
  res.writeHead(up.statusCode, {
    ...clientResponseHeaders(up.headers, o.requestId, true),
    ...o.extraHeaders,
  });
  try {
    await pipeline(up.body, res);
  } catch {
    if (!res.destroyed) res.destroy();
    return { status: res.writableFinished ? up.statusCode : 499, usage: null, dataEvents: 0 };
  }
  return { status: up.statusCode, usage: null, dataEvents: 0 };
}

async function relaySse(res: ServerResponse, up: Dispatcher.ResponseData, o: RelayOptions): Promise<Relayed> {
  res.writeHead(up.statusCode, {
    ...clientResponseHeaders(up.headers, o.requestId, false),
    ...o.extraHeaders,
  });
  res.flushHeaders();
  const relay = new SseRelay(o.route.usage, o.dropUsageChunk);
  let status = up.statusCode;
  try {
    for await (const chunk of up.body) {
      const text = relay.push(chunk as Buffer);
      if (text && !res.write(text)) await drained(res);
      if (res.destroyed) break;
    }
    const tail = relay.end();
    if (tail && !res.destroyed) res.write(tail);
  } catch (err) {
    if (classifyFailure(err) === "aborted" || res.destroyed) {
      status = 499;
    } else {
      // The upstream broke off mid-stream: end the client's stream with an error event rather
      // than a silent truncation the client could mistake for a complete answer.
      status = 502;
      res.write(
        `event: error\ndata: ${JSON.stringify({
          error: {
            message: "The upstream stream ended unexpectedly.",
            type: "api_error",
            param: null,
            code: "upstream_stream_error",
          },
        })}\n\n`,
      );
    }
  }
  if (res.destroyed && status < 400) status = 499;
  res.end();
  return { status, usage: relay.usage, dataEvents: relay.dataEvents };
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

function brokenBeforeHeaders(res: ServerResponse, err: unknown): Relayed {
  const failure = classifyFailure(err);
  if (failure === "aborted") return { status: 499, usage: null, dataEvents: 0 };
  const status = failure === "timeout" ? 504 : 502;
  const body = JSON.stringify({
    error: {
      message: "The upstream response broke off.",
      type: "api_error",
      param: null,
      code: "upstream_error",
    },
  });
  if (!res.headersSent)
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
  return { status, usage: null, dataEvents: 0 };
}

function filterModelList(body: Buffer, allows: (model: string) => boolean): Buffer {
  try {
    const list = JSON.parse(body.toString("utf8")) as { data?: Array<{ id?: unknown }> };
    if (!Array.isArray(list.data)) return body;
    list.data = list.data.filter((m) => typeof m.id === "string" && allows(m.id));
    return Buffer.from(JSON.stringify(list));
  } catch {
    return body;
  }
}
