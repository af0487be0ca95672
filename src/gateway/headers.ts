import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { ResolvedUpstream } from "../upstreams/types.js";

/** RFC 9110 §7.6.1 hop-by-hop headers, plus ones keyward sets itself. Never forwarded. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length",
]);

/** Request headers the client may not choose: identity and routing belong to the upstream record. */
const CLIENT_CONTROLLED = new Set([
  "authorization",
  "api-key",
  "openai-organization",
  "openai-project",
  "x-request-id",
]);

/**
 * Headers for the upstream request: the client's, minus hop-by-hop ones (and any named in its
 * Connection header) and minus its credentials, plus the real provider key. The client's
 * Authorization never reaches the upstream.
 */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  upstream: ResolvedUpstream,
  bodyLength: number | null,
  requestId: string,
): Record<string, string> {
  const named = connectionTokens(incoming.connection);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_BY_HOP.has(name) || CLIENT_CONTROLLED.has(name) || named.has(name))
      continue;
    out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  out.authorization = `Bearer ${upstream.apiKey}`;
  if (upstream.organization) out["openai-organization"] = upstream.organization;
  if (upstream.project) out["openai-project"] = upstream.project;
  if (bodyLength !== null) out["content-length"] = String(bodyLength);
  out["x-client-request-id"] = requestId;
  return out;
}

/** Response headers for the client: the upstream's, minus hop-by-hop ones. */
export function clientResponseHeaders(
  upstream: Record<string, string | string[] | undefined>,
  requestId: string,
  keepLength: boolean,
): OutgoingHttpHeaders {
  const named = connectionTokens(upstream.connection);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(upstream)) {
    if (value === undefined || named.has(name)) continue;
    if (HOP_BY_HOP.has(name) && !(keepLength && name === "content-length")) continue;
    out[name] = value;
  }
  out["x-request-id"] = requestId;
  return out;
}

const NONE: ReadonlySet<string> = new Set();
/** The Connection values nearly every request and response carries, parsed once. */
const COMMON_TOKENS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ["keep-alive", new Set(["keep-alive"])],
  ["close", new Set(["close"])],
]);

function connectionTokens(value: string | string[] | undefined): ReadonlySet<string> {
  if (!value) return NONE;
  const common = typeof value === "string" ? COMMON_TOKENS.get(value) : undefined;
  if (common) return common;
  const text = Array.isArray(value) ? value.join(",") : value;
  return new Set(
    text
      .split(",")
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
}
