import { multipartModels } from "./body.js";
import { GATEWAY_ERRORS, type GatewayError } from "./errors.js";
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

/** The same request with `stream_options.include_usage` switched on. */
export function withUsageRequested(json: Record<string, unknown>): Record<string, unknown> {
  const options =
    typeof json.stream_options === "object" && json.stream_options !== null ? json.stream_options : {};
  return { ...json, stream_options: { ...options, include_usage: true } };
}
