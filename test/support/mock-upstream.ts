/**
 * A fast mock of the OpenAI API for tests and benchmarks (not part of the production build).
 *
 * Endpoints (all under /v1):
 *   POST chat/completions   JSON with `usage`, or SSE chunks (`stream: true`), with a final
 *                           `choices: []` usage chunk when `stream_options.include_usage` is set
 *   POST completions        same for the legacy text completions
 *   POST responses          Responses API JSON, or its SSE event stream ending in `response.completed`
 *   POST embeddings         float arrays, or base64 (`encoding_format: "base64"`, the SDK default)
 *   POST moderations, images/generations, audio/speech (binary), audio/transcriptions, files
 *   GET  models, models/{id}
 *
 * Usage numbers are deterministic, so tests can check what was metered: prompt tokens are
 * 8 + ceil(characters of text in the request / 4), completion tokens = content chunks × 2, cached
 * tokens 0 — or exactly what `x-mock-usage: <prompt>,<completion>[,<cached>]` says.
 *
 * Fault knobs — request headers (per request) or `options` / `setOptions()` (every request;
 * a header wins):
 *   x-mock-status: N        respond N with an OpenAI-shaped error body (429 adds retry-after)
 *   x-mock-hang: 1          never respond (the socket stays open until the client gives up)
 *   x-mock-latency-ms: L    wait L ms before the response (before the first byte)
 *   x-mock-delay-ms: D      wait D ms before each content event (and chat's finish chunk); the
 *                           opening and closing events (usage chunk, [DONE]) follow at once
 *   x-mock-chunks: N        content chunks in a stream (and completion tokens = 2N)
 *   x-mock-close-after: K   destroy the socket after K stream events (0: without any response)
 *   x-mock-stall-after: K   stop sending after K stream events, keep the socket open
 *   x-mock-usage: p,c[,k]   the usage to report
 *
 * Recorded in `stats`: request count, requests in flight (now and at the peak), the last
 * request (method, url, headers, raw body), the requests whose client went away before the
 * response was complete (`aborted`), and how many sockets are open right now.
 *
 * Standalone: `npx tsx test/support/mock-upstream.ts --port 9100 [--host 127.0.0.1]
 * [--delay-ms 20] [--chunks 5] [--latency-ms 0] [--exit-on-stdin-close]`; prints `{"url":…,"port":…}` on one line and
 * runs until SIGTERM/SIGINT.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { pathToFileURL } from "node:url";

export interface MockUpstreamOptions {
  port?: number;
  host?: string;
  /** Delay between stream events in ms (default 0: events are written back to back). */
  delayMs?: number;
  /** Delay before the response starts in ms (default 0). */
  latencyMs?: number;
  /** Content chunks per stream (default 5). */
  chunks?: number;
  /** Respond every request with this status and an OpenAI-shaped error. */
  status?: number;
  /** Never respond. */
  hang?: boolean;
  /** Destroy the socket after this many stream events (0: before any response). */
  closeAfter?: number;
  /** Stop sending after this many stream events and keep the socket open. */
  stallAfter?: number;
  /** Fixed usage to report instead of the computed one. */
  usage?: { prompt: number; completion: number; cached?: number };
  /** Models served by GET /v1/models. */
  models?: readonly string[];
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface MockUpstreamStats {
  /** Requests received (counted when the request head arrives). */
  requests: number;
  /** Requests whose response was complete. */
  completed: number;
  /** Requests whose client went away (or whose socket the mock destroyed) before the end. */
  aborted: number;
  /** Sockets open right now. */
  openSockets: number;
  /** Requests in flight right now (received, response not yet complete or aborted). */
  inFlight: number;
  /** The most requests ever in flight at once (since the last reset). */
  peakInFlight: number;
  /** The most recent request, body included. */
  lastRequest: RecordedRequest | null;
  /** Every request's headers, in order, up to the last 1,000 (for "never saw a kw_ key" checks). */
  recentHeaders: IncomingHttpHeaders[];
}

export interface MockUpstream {
  /** Base URL including `/v1`, e.g. `http://127.0.0.1:9100/v1`. */
  url: string;
  port: number;
  stats: MockUpstreamStats;
  /** Changes the options for subsequent requests (port/host excepted). */
  setOptions(options: Partial<MockUpstreamOptions>): void;
  /** Zeroes the counters and forgets recorded requests. */
  resetStats(): void;
  /** Stops listening and destroys every open socket (hung requests included). */
  close(): Promise<void>;
}

export const DEFAULT_MODELS: readonly string[] = [
  "gpt-4o-mini",
  "gpt-4o",
  "gpt-4.1",
  "gpt-4.1-mini",
  "o3-mini",
  "gpt-3.5-turbo-instruct",
  "text-embedding-3-small",
  "text-embedding-3-large",
  "omni-moderation-latest",
  "dall-e-3",
  "tts-1",
  "whisper-1",
];

const RECENT_HEADERS = 1000;
const MODEL_CREATED = 1_715_367_049;

interface Knobs {
  status: number | undefined;
  hang: boolean;
  latencyMs: number;
  delayMs: number;
  chunks: number;
  closeAfter: number | undefined;
  stallAfter: number | undefined;
  usage: { prompt: number; completion: number; cached: number } | undefined;
}

interface Usage {
  prompt: number;
  completion: number;
  cached: number;
}

type Json = Record<string, unknown>;

function headerInt(v: string | string[] | undefined): number | undefined {
  if (typeof v !== "string" || v === "") return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

function parseUsageHeader(v: string | string[] | undefined): Knobs["usage"] {
  if (typeof v !== "string") return undefined;
  const parts = v.split(",").map((s) => Number(s.trim()));
  if (parts.length < 2 || parts.some((n) => !Number.isInteger(n) || n < 0)) return undefined;
  return { prompt: parts[0]!, completion: parts[1]!, cached: parts[2] ?? 0 };
}

/** Characters of text in a request body: messages' contents, prompt, input. */
function textLength(body: Json): number {
  let n = 0;
  const add = (v: unknown): void => {
    if (typeof v === "string") n += v.length;
    else if (Array.isArray(v)) for (const x of v) add(x);
    else if (v && typeof v === "object") {
      const o = v as Json;
      if ("content" in o) add(o.content);
      else if ("text" in o) add(o.text);
    }
  };
  add(body.messages);
  add(body.prompt);
  add(body.input);
  return n;
}

const ERROR_TYPES: Record<number, [type: string, code: string | null, message: string]> = {
  400: ["invalid_request_error", null, "Mock: bad request."],
  401: ["invalid_request_error", "invalid_api_key", "Incorrect API key provided."],
  403: ["permission_error", null, "Mock: you are not allowed to do this."],
  404: ["invalid_request_error", "not_found", "Mock: not found."],
  408: ["timeout", null, "Mock: request timed out."],
  429: ["requests", "rate_limit_exceeded", "Rate limit reached for requests (mock)."],
  500: ["server_error", null, "The server had an error while processing your request (mock)."],
  502: ["server_error", null, "Bad gateway (mock)."],
  503: ["server_error", null, "The engine is currently overloaded (mock)."],
};

export async function startMockUpstream(options: MockUpstreamOptions = {}): Promise<MockUpstream> {
  let opts: MockUpstreamOptions = { ...options };
  const stats: MockUpstreamStats = {
    requests: 0,
    completed: 0,
    aborted: 0,
    openSockets: 0,
    inFlight: 0,
    peakInFlight: 0,
    lastRequest: null,
    recentHeaders: [],
  };
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let seq = 0;

  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const knobsFor = (h: IncomingHttpHeaders): Knobs => {
    const usage =
      parseUsageHeader(h["x-mock-usage"]) ?? (opts.usage ? { cached: 0, ...opts.usage } : undefined);
    const hangHeader = h["x-mock-hang"];
    return {
      status: headerInt(h["x-mock-status"]) ?? opts.status,
      hang: hangHeader !== undefined ? hangHeader === "1" || hangHeader === "true" : Boolean(opts.hang),
      latencyMs: headerInt(h["x-mock-latency-ms"]) ?? opts.latencyMs ?? 0,
      delayMs: headerInt(h["x-mock-delay-ms"]) ?? opts.delayMs ?? 0,
      chunks: Math.max(1, headerInt(h["x-mock-chunks"]) ?? opts.chunks ?? 5),
      closeAfter: headerInt(h["x-mock-close-after"]) ?? opts.closeAfter,
      stallAfter: headerInt(h["x-mock-stall-after"]) ?? opts.stallAfter,
      usage,
    };
  };

  const sendJson = (
    res: ServerResponse,
    status: number,
    text: string,
    extra?: Record<string, string>,
  ): void => {
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
      "x-request-id": `req_mock_${seq}`,
      "openai-processing-ms": "1",
      ...extra,
    });
    res.end(text);
  };

  const sendError = (res: ServerResponse, status: number, message?: string, code?: string | null): void => {
    const [type, defCode, defMessage] = ERROR_TYPES[status] ?? [
      "server_error",
      null,
      `Mock error ${status}.`,
    ];
    const body = JSON.stringify({
      error: { message: message ?? defMessage, type, param: null, code: code === undefined ? defCode : code },
    });
    sendJson(res, status, body, status === 429 ? { "retry-after": "1" } : undefined);
  };

  /**
   * Writes SSE events with the configured spacing and faults: `event(i)` gives the i-th event
   * text (already framed), computed lazily so a stream cut short does no extra work; events
   * for which `gapBefore(i)` holds are preceded by the per-event delay.
   */
  const sendStream = (
    res: ServerResponse,
    k: Knobs,
    total: number,
    gapBefore: (i: number) => boolean,
    event: (i: number) => string,
  ): void => {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-request-id": `req_mock_${seq}`,
    });
    let i = 0;
    const step = (): void => {
      if (res.destroyed) return;
      if (k.closeAfter !== undefined && i >= k.closeAfter) {
        // Flush what was written, then FIN without the terminating chunk: a premature close.
        const socket = res.socket;
        if (socket) {
          socket.end();
          later(1000, () => socket.destroy());
        }
        return;
      }
      if (k.stallAfter !== undefined && i >= k.stallAfter) return;
      if (i >= total) {
        res.end();
        return;
      }
      res.write(event(i));
      i++;
      // The delay precedes content events; the opening and closing ones (usage chunk, [DONE],
      // the Responses API's *.done events) follow at once, as they do from OpenAI.
      if (k.delayMs > 0 && i < total && gapBefore(i)) later(k.delayMs, step);
      else step();
    };
    step();
  };

  const usageFor = (k: Knobs, body: Json): Usage =>
    k.usage ?? { prompt: 8 + Math.ceil(textLength(body) / 4), completion: k.chunks * 2, cached: 0 };

  const chatUsage = (u: Usage): Json => ({
    prompt_tokens: u.prompt,
    completion_tokens: u.completion,
    total_tokens: u.prompt + u.completion,
    prompt_tokens_details: { cached_tokens: u.cached, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  });

  const modelOf = (body: Json, fallback: string): string =>
    typeof body.model === "string" && body.model !== "" ? body.model : fallback;

  const chat = (res: ServerResponse, k: Knobs, body: Json): void => {
    const id = `chatcmpl-mock${seq}`;
    const model = modelOf(body, "gpt-4o-mini");
    const created = Math.floor(Date.now() / 1000);
    const u = usageFor(k, body);
    if (body.stream !== true) {
      const text = Array.from({ length: k.chunks }, (_, i) => `tok${i}`).join(" ");
      sendJson(
        res,
        200,
        JSON.stringify({
          id,
          object: "chat.completion",
          created,
          model,
          choices: [
            {
              index: 0,
              message: { role: "assistant", content: text, refusal: null, annotations: [] },
              logprobs: null,
              finish_reason: "stop",
            },
          ],
          usage: chatUsage(u),
          service_tier: "default",
          system_fingerprint: "fp_mock",
        }),
      );
      return;
    }
    const so = body.stream_options as Json | undefined;
    const includeUsage = so?.include_usage === true;
    const head = `{"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"service_tier":"default","system_fingerprint":"fp_mock","choices":`;
    const tail = includeUsage ? `,"usage":null}` : "}";
    // role chunk, N content chunks, finish chunk, [usage chunk], [DONE]
    const total = k.chunks + 3 + (includeUsage ? 1 : 0);
    sendStream(
      res,
      k,
      total,
      (i) => i >= 1 && i <= k.chunks + 1,
      (i) => {
        if (i === 0)
          return `data: ${head}[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]${tail}\n\n`;
        if (i <= k.chunks)
          return `data: ${head}[{"index":0,"delta":{"content":"${i === 1 ? "" : " "}tok${i - 1}"},"logprobs":null,"finish_reason":null}]${tail}\n\n`;
        if (i === k.chunks + 1)
          return `data: ${head}[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]${tail}\n\n`;
        if (includeUsage && i === k.chunks + 2)
          return `data: ${head}[],"usage":${JSON.stringify(chatUsage(u))}}\n\n`;
        return "data: [DONE]\n\n";
      },
    );
  };

  const completions = (res: ServerResponse, k: Knobs, body: Json): void => {
    const id = `cmpl-mock${seq}`;
    const model = modelOf(body, "gpt-3.5-turbo-instruct");
    const created = Math.floor(Date.now() / 1000);
    const u = usageFor(k, body);
    const usage = {
      prompt_tokens: u.prompt,
      completion_tokens: u.completion,
      total_tokens: u.prompt + u.completion,
    };
    if (body.stream !== true) {
      const text = Array.from({ length: k.chunks }, (_, i) => ` tok${i}`).join("");
      sendJson(
        res,
        200,
        JSON.stringify({
          id,
          object: "text_completion",
          created,
          model,
          choices: [{ text, index: 0, logprobs: null, finish_reason: "stop" }],
          usage,
        }),
      );
      return;
    }
    const includeUsage = (body.stream_options as Json | undefined)?.include_usage === true;
    const head = `{"id":"${id}","object":"text_completion","created":${created},"model":${JSON.stringify(model)},"system_fingerprint":"fp_mock","choices":`;
    const tail = includeUsage ? `,"usage":null}` : "}";
    const total = k.chunks + 2 + (includeUsage ? 1 : 0);
    sendStream(
      res,
      k,
      total,
      (i) => i >= 1 && i <= k.chunks,
      (i) => {
        if (i < k.chunks)
          return `data: ${head}[{"text":" tok${i}","index":0,"logprobs":null,"finish_reason":null}]${tail}\n\n`;
        if (i === k.chunks)
          return `data: ${head}[{"text":"","index":0,"logprobs":null,"finish_reason":"stop"}]${tail}\n\n`;
        if (includeUsage && i === k.chunks + 1)
          return `data: ${head}[],"usage":${JSON.stringify(usage)}}\n\n`;
        return "data: [DONE]\n\n";
      },
    );
  };

  const responses = (res: ServerResponse, k: Knobs, body: Json): void => {
    const id = `resp_mock${seq}`;
    const msgId = `msg_mock${seq}`;
    const model = modelOf(body, "gpt-4o-mini");
    const createdAt = Math.floor(Date.now() / 1000);
    const u = usageFor(k, body);
    const text = Array.from({ length: k.chunks }, (_, i) => `tok${i}`).join(" ");
    const usage = {
      input_tokens: u.prompt,
      input_tokens_details: { cached_tokens: u.cached },
      output_tokens: u.completion,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: u.prompt + u.completion,
    };
    const message = (done: boolean): Json => ({
      id: msgId,
      type: "message",
      status: done ? "completed" : "in_progress",
      role: "assistant",
      content: done ? [{ type: "output_text", text, annotations: [], logprobs: [] }] : [],
    });
    const response = (done: boolean): Json => ({
      id,
      object: "response",
      created_at: createdAt,
      status: done ? "completed" : "in_progress",
      error: null,
      incomplete_details: null,
      instructions: typeof body.instructions === "string" ? body.instructions : null,
      model,
      output: done ? [message(true)] : [],
      parallel_tool_calls: true,
      temperature: 1,
      tool_choice: "auto",
      tools: [],
      top_p: 1,
      text: { format: { type: "text" } },
      usage: done ? usage : null,
      metadata: {},
    });
    if (body.stream !== true) {
      sendJson(res, 200, JSON.stringify(response(true)));
      return;
    }
    const ev = (type: string, n: number, data: Json): string =>
      `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: n, ...data })}\n\n`;
    const pre = 4; // created, in_progress, output_item.added, content_part.added
    const total = pre + k.chunks + 4; // …deltas, output_text.done, content_part.done, output_item.done, completed
    sendStream(
      res,
      k,
      total,
      (i) => i >= pre && i < pre + k.chunks,
      (i) => {
        if (i === 0) return ev("response.created", i, { response: response(false) });
        if (i === 1) return ev("response.in_progress", i, { response: response(false) });
        if (i === 2) return ev("response.output_item.added", i, { output_index: 0, item: message(false) });
        if (i === 3)
          return ev("response.content_part.added", i, {
            item_id: msgId,
            output_index: 0,
            content_index: 0,
            part: { type: "output_text", text: "", annotations: [] },
          });
        if (i < pre + k.chunks) {
          const c = i - pre;
          return ev("response.output_text.delta", i, {
            item_id: msgId,
            output_index: 0,
            content_index: 0,
            delta: `${c === 0 ? "" : " "}tok${c}`,
            logprobs: [],
          });
        }
        const j = i - pre - k.chunks;
        if (j === 0)
          return ev("response.output_text.done", i, {
            item_id: msgId,
            output_index: 0,
            content_index: 0,
            text,
            logprobs: [],
          });
        if (j === 1)
          return ev("response.content_part.done", i, {
            item_id: msgId,
            output_index: 0,
            content_index: 0,
            part: { type: "output_text", text, annotations: [] },
          });
        if (j === 2) return ev("response.output_item.done", i, { output_index: 0, item: message(true) });
        return ev("response.completed", i, { response: response(true) });
      },
    );
  };

  const embeddings = (res: ServerResponse, k: Knobs, body: Json): void => {
    const inputs = Array.isArray(body.input) ? body.input : [body.input];
    const dims =
      typeof body.dimensions === "number" && body.dimensions > 0 ? Math.min(body.dimensions, 4096) : 16;
    const base64 = body.encoding_format === "base64";
    const data = inputs.map((_, index) => {
      const v = new Float32Array(dims);
      for (let d = 0; d < dims; d++) v[d] = ((index + 1) * (d + 1)) / (dims * 10);
      return {
        object: "embedding",
        index,
        embedding: base64 ? Buffer.from(v.buffer).toString("base64") : Array.from(v),
      };
    });
    const prompt = k.usage?.prompt ?? 8 + Math.ceil(textLength(body) / 4);
    sendJson(
      res,
      200,
      JSON.stringify({
        object: "list",
        data,
        model: modelOf(body, "text-embedding-3-small"),
        usage: { prompt_tokens: prompt, total_tokens: prompt },
      }),
    );
  };

  const moderations = (res: ServerResponse, body: Json): void => {
    const categories = ["harassment", "hate", "illicit", "self-harm", "sexual", "violence"];
    const inputs = Array.isArray(body.input) ? body.input : [body.input];
    sendJson(
      res,
      200,
      JSON.stringify({
        id: `modr-mock${seq}`,
        model: modelOf(body, "omni-moderation-latest"),
        results: inputs.map(() => ({
          flagged: false,
          categories: Object.fromEntries(categories.map((c) => [c, false])),
          category_scores: Object.fromEntries(categories.map((c) => [c, 0.0001])),
          category_applied_input_types: Object.fromEntries(categories.map((c) => [c, ["text"]])),
        })),
      }),
    );
  };

  const modelJson = (id: string): Json => ({
    id,
    object: "model",
    created: MODEL_CREATED,
    owned_by: "system",
  });

  const route = (req: IncomingMessage, res: ServerResponse, raw: Buffer): void => {
    const k = knobsFor(req.headers);
    if (k.hang) return;
    if (k.closeAfter === 0) {
      req.socket.destroy();
      return;
    }
    if (k.status !== undefined && k.status >= 400) {
      sendError(res, k.status);
      return;
    }
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    const method = req.method ?? "GET";
    let body: Json = {};
    if (method === "POST" && raw.length > 0 && (req.headers["content-type"] ?? "").includes("json")) {
      try {
        const parsed: unknown = JSON.parse(raw.toString("utf8"));
        if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
        body = parsed as Json;
      } catch {
        sendError(res, 400, "We could not parse the JSON body of your request.");
        return;
      }
    }
    if (method === "POST") {
      switch (path) {
        case "/v1/chat/completions":
          return chat(res, k, body);
        case "/v1/completions":
          return completions(res, k, body);
        case "/v1/responses":
          return responses(res, k, body);
        case "/v1/embeddings":
          return embeddings(res, k, body);
        case "/v1/moderations":
          return moderations(res, body);
        case "/v1/images/generations":
          return sendJson(
            res,
            200,
            JSON.stringify({
              created: Math.floor(Date.now() / 1000),
              data: [{ b64_json: Buffer.from("mock-image").toString("base64"), revised_prompt: null }],
            }),
          );
        case "/v1/audio/speech": {
          const audio = Buffer.alloc(1024, 0x55);
          res.writeHead(200, { "content-type": "audio/mpeg", "content-length": audio.length });
          res.end(audio);
          return;
        }
        case "/v1/audio/transcriptions":
          return sendJson(res, 200, JSON.stringify({ text: `mock transcription of ${raw.length} bytes` }));
        case "/v1/files":
          return sendJson(
            res,
            200,
            JSON.stringify({
              id: `file-mock${seq}`,
              object: "file",
              bytes: raw.length,
              created_at: Math.floor(Date.now() / 1000),
              filename: "upload",
              purpose: "batch",
            }),
          );
      }
    } else if (method === "GET") {
      const models = opts.models ?? DEFAULT_MODELS;
      if (path === "/v1/models")
        return sendJson(res, 200, JSON.stringify({ object: "list", data: models.map(modelJson) }));
      if (path.startsWith("/v1/models/")) {
        const id = decodeURIComponent(path.slice("/v1/models/".length));
        if (models.includes(id)) return sendJson(res, 200, JSON.stringify(modelJson(id)));
        return sendError(res, 404, `The model '${id}' does not exist`, "model_not_found");
      }
    }
    sendError(res, 404, `Invalid URL (${method} ${path})`, null);
  };

  const server = createServer({ keepAlive: true, noDelay: true }, (req, res) => {
    seq++;
    stats.requests++;
    stats.inFlight++;
    stats.peakInFlight = Math.max(stats.peakInFlight, stats.inFlight);
    stats.recentHeaders.push(req.headers);
    if (stats.recentHeaders.length > RECENT_HEADERS) stats.recentHeaders.shift();
    res.on("close", () => {
      stats.inFlight--;
      if (res.writableFinished) stats.completed++;
      else stats.aborted++;
    });
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      stats.lastRequest = {
        method: req.method ?? "GET",
        url: req.url ?? "/",
        headers: req.headers,
        body: raw,
      };
      const k = knobsFor(req.headers);
      if (k.latencyMs > 0) later(k.latencyMs, () => route(req, res, raw));
      else route(req, res, raw);
    });
    req.on("error", () => undefined);
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0;
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    stats.openSockets++;
    socket.on("close", () => {
      sockets.delete(socket);
      stats.openSockets--;
    });
  });
  server.on("clientError", (_err, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? "127.0.0.1";
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}/v1`,
    port,
    stats,
    setOptions(next) {
      opts = { ...opts, ...next };
    },
    resetStats() {
      stats.requests = 0;
      stats.completed = 0;
      stats.aborted = 0;
      stats.peakInFlight = stats.inFlight;
      stats.lastRequest = null;
      stats.recentHeaders = [];
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Standalone process

let exitOnStdinClose = false;

function parseArgs(argv: readonly string[]): MockUpstreamOptions {
  const out: MockUpstreamOptions = {};
  const num = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < 0)
      throw new Error(`${flag} needs a non-negative integer`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    switch (a) {
      case "--port":
        out.port = num(a, v);
        i++;
        break;
      case "--host":
        if (!v) throw new Error("--host needs a value");
        out.host = v;
        i++;
        break;
      case "--delay-ms":
        out.delayMs = num(a, v);
        i++;
        break;
      case "--latency-ms":
        out.latencyMs = num(a, v);
        i++;
        break;
      case "--chunks":
        out.chunks = num(a, v);
        i++;
        break;
      case "--exit-on-stdin-close":
        exitOnStdinClose = true;
        break;
      default:
        throw new Error(
          `unknown argument ${a} (use --port N [--host H] [--delay-ms D] [--latency-ms L] [--chunks N])`,
        );
    }
  }
  return out;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  let opts: MockUpstreamOptions;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`mock-upstream: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  }
  const mock = await startMockUpstream(opts);
  process.stdout.write(JSON.stringify({ url: mock.url, port: mock.port }) + "\n");
  const stop = (): void => {
    void mock.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  if (exitOnStdinClose) {
    // Run as a child with a stdin pipe: exit with the parent, even if it could not kill us.
    process.stdin.on("end", stop);
    process.stdin.on("error", stop);
    process.stdin.resume();
  }
}
