import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ZodError } from "zod";
import { KeywardError, type ErrorCode, type ErrorDetail } from "../core/errors.js";
import { errorSummary, type Logger } from "../log/logger.js";
import { isStoreUnavailable } from "../store/database.js";
import type { ApiEnv } from "./env.js";

/** The management API error envelope: `{"error":{"code","message","request_id"}}`. */
export function errorBody(code: ErrorCode, message: string, requestId: string, details?: ErrorDetail[]) {
  return { error: { code, message, request_id: requestId, ...(details?.length ? { details } : {}) } };
}

/** Maps zod issues to field-level details (path + message), never echoing input values. */
export function zodDetails(error: ZodError): ErrorDetail[] {
  return error.issues.slice(0, 20).map((i) => ({
    path: i.path.map(String).join(".") || "(body)",
    message: i.code === "unrecognized_keys" ? `unknown field(s): ${i.keys.join(", ")}` : i.message,
  }));
}

/** Which validation target a failure came from decides the code a client sees. */
export function validationError(target: string, error: ZodError): KeywardError {
  const details = zodDetails(error);
  if (target === "param") return new KeywardError("invalid_id", "the id in the path is not valid", details);
  const where = target === "query" ? "query parameters" : target === "header" ? "headers" : "request body";
  const first = details[0];
  return new KeywardError(
    "invalid_request",
    `invalid ${where}: ${first ? `${first.path}: ${first.message}` : "invalid"}`,
    details,
  );
}

/**
 * The single error handler. Known errors render their code; anything else is logged (type and
 * message, no stack of values) and becomes a generic 500 that leaks nothing.
 */
export function makeErrorHandler(logger: Logger) {
  return (err: Error, c: Context<ApiEnv>): Response => {
    const requestId = c.get("requestId") ?? "unknown";
    if (err instanceof KeywardError) {
      return c.json(errorBody(err.code, err.message, requestId, err.details), err.status as 400);
    }
    if (err instanceof HTTPException) {
      const mapped = fromHttpException(err);
      return c.json(errorBody(mapped.code, mapped.message, requestId), mapped.status as 400);
    }
    if (isStoreUnavailable(err)) {
      logger.warn({ request_id: requestId, err: errorSummary(err) }, "store unavailable");
      return c.json(errorBody("unavailable", "the store is unavailable; try again shortly", requestId), 503);
    }
    logger.error({ request_id: requestId, err: errorSummary(err) }, "unhandled error in management API");
    return c.json(
      errorBody("internal_error", "internal error; see the server log for this request id", requestId),
      500,
    );
  };
}

function fromHttpException(err: HTTPException): { code: ErrorCode; message: string; status: number } {
  switch (err.status) {
    case 400:
      return { code: "invalid_json", message: "request body is not valid JSON", status: 400 };
    case 413:
      return { code: "payload_too_large", message: "request body is too large", status: 413 };
    case 401:
      return { code: "unauthorized", message: "authentication required", status: 401 };
    case 415:
      // The route's media-type gate (@hono/zod-openapi) is stricter than ours, e.g. about
      // `application/json;` or `+json` subtypes with digits.
      return {
        code: "unsupported_media_type",
        message: "request bodies must be application/json",
        status: 415,
      };
    default:
      // Code and status always agree with the catalogue (ERROR_STATUS).
      return { code: "invalid_request", message: "invalid request", status: 400 };
  }
}
