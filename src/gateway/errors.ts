import type { VerifyCode } from "../keys/verify.js";
import type { GatewayResponse } from "./exchange.js";

/** An OpenAI-shaped error: `{"error":{"message","type","param","code"}}`. */
export interface GatewayError {
  status: number;
  type: string;
  code: string;
  message: string;
  param?: string | null;
}

/**
 * Verification codes → the HTTP status and OpenAI error the official SDKs map to the right
 * class (401 AuthenticationError, 403 PermissionDeniedError, 429 RateLimitError).
 */
export function verifyError(code: Exclude<VerifyCode, "VALID">, message: string | undefined): GatewayError {
  switch (code) {
    case "NOT_FOUND":
    case "MALFORMED":
      return {
        status: 401,
        type: "invalid_request_error",
        code: "invalid_api_key",
        message: "Incorrect API key provided.",
      };
    case "REVOKED":
    case "EXPIRED":
    case "DISABLED":
      return {
        status: 401,
        type: "invalid_request_error",
        code: "invalid_api_key",
        message: `Invalid API key: ${message ?? code.toLowerCase()}.`,
      };
    case "FORBIDDEN":
      return {
        status: 403,
        type: "invalid_request_error",
        code: "insufficient_permissions",
        message: message ?? "This key may not do that.",
      };
    case "RATE_LIMITED":
      return {
        status: 429,
        type: "requests",
        code: "rate_limit_exceeded",
        message: message ?? "Rate limit reached.",
      };
    case "BUDGET_EXCEEDED":
      return {
        status: 429,
        type: "insufficient_quota",
        code: "budget_exceeded",
        message: message ?? "This key's budget is used up.",
      };
  }
}

export const GATEWAY_ERRORS = {
  missingKey: {
    status: 401,
    type: "invalid_request_error",
    code: "missing_api_key",
    message: "You didn't provide an API key. Send it as Authorization: Bearer <key>.",
  },
  badPath: {
    status: 400,
    type: "invalid_request_error",
    code: "invalid_path",
    message: "The request path is not valid.",
  },
  tooLarge: {
    status: 413,
    type: "invalid_request_error",
    code: "request_too_large",
    message: "The request body is too large.",
  },
  badJson: {
    status: 400,
    type: "invalid_request_error",
    code: "invalid_json",
    message: "We could not parse the JSON body of your request.",
  },
  noUpstream: {
    status: 503,
    type: "api_error",
    code: "no_upstream",
    message: "No upstream provider is configured for this key's project.",
  },
  unavailable: {
    status: 503,
    type: "api_error",
    code: "service_unavailable",
    message: "keyward cannot verify keys right now; try again.",
  },
  upstreamUnreachable: {
    status: 502,
    type: "api_error",
    code: "upstream_unreachable",
    message: "The upstream provider could not be reached.",
  },
  upstreamBrokeOff: {
    status: 502,
    type: "api_error",
    code: "upstream_error",
    message: "The upstream response broke off.",
  },
  upstreamTimeout: {
    status: 504,
    type: "api_error",
    code: "upstream_timeout",
    message: "The upstream provider did not answer in time.",
  },
  rateLimitsUnavailable: {
    status: 503,
    type: "api_error",
    code: "rate_limits_unavailable",
    message:
      "keyward cannot reach its shared rate-limit store right now, and is set to refuse rather than guess (limits.redis_down = closed); try again.",
  },
  budgetUnavailable: {
    status: 503,
    type: "api_error",
    code: "budget_unavailable",
    message: "keyward cannot reach the store that holds this key's budget right now; try again.",
  },
  notBudgetable: {
    status: 403,
    type: "invalid_request_error",
    code: "budget_not_enforceable",
    message:
      "This key (or its project) has a budget, and this endpoint's cost is not metered in tokens, so it cannot be held against the budget.",
  },
  upgradeUnsupported: {
    status: 501,
    type: "invalid_request_error",
    code: "unsupported",
    message: "WebSocket/Realtime connections are not supported by this gateway.",
  },
} satisfies Record<string, GatewayError>;

/** Writes an OpenAI-shaped error response (never anything internal). */
export function sendError(
  res: GatewayResponse,
  err: GatewayError,
  requestId: string,
  extraHeaders: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({
    error: { message: err.message, type: err.type, param: err.param ?? null, code: err.code },
  });
  res.writeHead(err.status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    "x-request-id": requestId,
    ...extraHeaders,
  });
  res.end(body);
}
