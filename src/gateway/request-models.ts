import { multipartModels } from "./body.js";
import { GATEWAY_ERRORS, type GatewayError } from "./errors.js";
import { isJsonSpace } from "./json-tail.js";
import type { RouteInfo } from "./routes.js";

/** What the gateway read out of a request before verifying it. */
export interface ParsedRequest {
  /** Every model the request names, wherever it names one (body, form, path, query). */
  models: string[];
  /** The JSON body, when there is one. */
  json: Record<string, unknown> | null;
  /** The client itself asked for a streamed usage chunk. */
  usageRequested: boolean;
}

const JSON_TYPE = /^application\/([\w.-]+\+)?json/i;

/**
 * Collects every model a request names — JSON `model`, multipart `model` fields, the model id
 * in `/v1/models/{id}`, and any `?model=` query value — so an allowlist sees all of them and
 * cannot be bypassed by naming the model somewhere else.
 */
export function modelsNamedBy(
  route: RouteInfo,
  path: string,
  search: string,
  body: Buffer | null,
  contentType: string | undefined,
): ParsedRequest | { error: GatewayError } {
  const models: string[] = [];
  let json: Record<string, unknown> | null = null;
  if (route.modelSource === "path") {
    try {
      models.push(decodeURIComponent(path.slice("/v1/models/".length)));
    } catch {
      return { error: GATEWAY_ERRORS.badPath };
    }
  }
  if (body && body.length > 0) {
    if (route.modelSource === "multipart" && contentType) {
      const found = multipartModels(body, contentType);
      if (found === null)
        return {
          error: {
            ...GATEWAY_ERRORS.badJson,
            code: "invalid_multipart",
            message: "The multipart body has no boundary.",
          },
        };
      models.push(...found);
    } else if (route.modelSource === "json" && (!contentType || JSON_TYPE.test(contentType))) {
      let value: unknown;
      try {
        value = JSON.parse(body.toString("utf8"));
      } catch {
        return { error: GATEWAY_ERRORS.badJson };
      }
      if (typeof value === "object" && value !== null && !Array.isArray(value)) {
        json = value as Record<string, unknown>;
        if (json.model !== undefined) {
          if (typeof json.model !== "string") {
            return {
              error: {
                ...GATEWAY_ERRORS.badJson,
                code: "invalid_model",
                param: "model",
                message: "model must be a string.",
              },
            };
          }
          models.push(json.model);
        }
      }
    }
  }
  if (search.includes("model")) {
    for (const m of new URLSearchParams(search).getAll("model")) models.push(m);
  }
  const options = json?.stream_options;
  const usageRequested =
    typeof options === "object" &&
    options !== null &&
    (options as Record<string, unknown>).include_usage === true;
  return { models, json, usageRequested };
}

const INCLUDE_USAGE = Buffer.from('"stream_options":{"include_usage":true}');
const INCLUDE_USAGE_AND_COMMA = Buffer.from('"stream_options":{"include_usage":true},');

/**
 * The request body with `stream_options.include_usage` switched on. `json` is `body` parsed (a
 * JSON object). When the request has no `stream_options` (the usual case), the member is
 * spliced in after the opening brace and the client's bytes are otherwise passed on as they
 * are: re-serialising the whole conversation would cost the event loop time in proportion to
 * its size (milliseconds for a long one), before the upstream even sees the request. When it
 * has one, the object is rebuilt with `include_usage` added.
 */
export function bodyWithUsageRequested(body: Buffer, json: Record<string, unknown>): Buffer {
  if (json.stream_options === undefined) {
    let open = 0;
    while (isJsonSpace(body[open])) open++;
    let next = open + 1;
    while (isJsonSpace(body[next])) next++;
    // `{}` gets the member alone; otherwise a comma separates it from the first member.
    const member = body[next] === 0x7d ? INCLUDE_USAGE : INCLUDE_USAGE_AND_COMMA;
    return Buffer.concat([body.subarray(0, open + 1), member, body.subarray(open + 1)]);
  }
  const options =
    typeof json.stream_options === "object" && json.stream_options !== null ? json.stream_options : {};
  return Buffer.from(JSON.stringify({ ...json, stream_options: { ...options, include_usage: true } }));
}
