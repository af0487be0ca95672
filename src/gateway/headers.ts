import type { IncomingHttpHeaders } from "node:http";
import type { ResolvedUpstream } from "../upstreams/types.js";
import { headerValue, type ResponseHeaders } from "./upstream-types.js";

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
  // node:http already answered an Expect: 100-continue; the upstream gets the whole body.
  "expect",
  "host",
  "content-length",
]);

const NONE: ReadonlySet<string> = new Set();
/** The Connection values nearly every request and response carries, parsed once. */
const COMMON_TOKENS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ["keep-alive", new Set(["keep-alive"])],
  ["close", new Set(["close"])],
]);

/** The lower-case tokens of a comma-separated field such as Connection (RFC 9110 §7.6.1). */
export function connectionTokens(value: string | string[] | undefined): ReadonlySet<string> {
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

/**
 * Response headers for the client, as a flat `[name, value, …]` list for `writeHead`: the
 * upstream's, minus hop-by-hop ones, with keyward's own `x-request-id` and any `extra` headers
 * (rate-limit state) in place of the upstream's of the same name.
 */
export function clientResponseHeaders(
  upstream: ResponseHeaders,
  requestId: string,
  keepLength: boolean,
  extra: Readonly<Record<string, string>>,
): string[] {
  const named = connectionTokens(headerValue(upstream, "connection"));
  const out: string[] = [];
  for (let i = 0; i < upstream.length; i += 2) {
    const name = upstream[i]!;
    if (name === "x-request-id" || named.has(name) || Object.hasOwn(extra, name)) continue;
    if (HOP_BY_HOP.has(name) && !(keepLength && name === "content-length")) continue;
    out.push(name, upstream[i + 1]!);
  }
  out.push("x-request-id", requestId);
  for (const name in extra) out.push(name, extra[name]!);
  return out;
}
