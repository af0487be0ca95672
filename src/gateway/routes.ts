import type { Access, Resource } from "../core/permissions.js";

/** How a request's model is named, so allowlists cannot be bypassed by moving it elsewhere. */
export type ModelSource = "json" | "multipart" | "path" | "none";

/** Which usage shape the upstream returns for this endpoint. */
export type UsageKind = "chat" | "completions" | "responses" | "embeddings" | "none";

/** What the gateway knows about one request path. */
export interface RouteInfo {
  /** A low-cardinality label for metrics and usage rows, e.g. `/v1/chat/completions`. */
  endpoint: string;
  resource: Resource | undefined;
  access: Access;
  modelSource: ModelSource;
  usage: UsageKind;
  /** A model allowlist cannot be enforced here (e.g. batches name models inside uploaded files). */
  opaqueModels: boolean;
  /** Forward the body as a stream instead of reading it (file uploads: large, and no model). */
  streamBody: boolean;
  /** Writes here use a model; under a model allowlist it must be named, not left to a default. */
  modelRequired: boolean;
}

interface Rule {
  prefix: string;
  resource: Resource;
  usage?: UsageKind;
  modelInPath?: boolean;
  opaqueModels?: boolean;
  streamBody?: boolean;
  modelRequired?: boolean;
}

/**
 * Path → resource table for OpenAI's API surface. Longest prefix wins. Paths not listed map to
 * no resource: only keys with `all` may call them (unknown paths never slip through a
 * restricted key).
 */
const RULES: Rule[] = (
  [
    { prefix: "/v1/chat/completions", resource: "chat_completions", modelRequired: true, usage: "chat" },
    { prefix: "/v1/completions", resource: "completions", modelRequired: true, usage: "completions" },
    { prefix: "/v1/responses", resource: "responses", modelRequired: true, usage: "responses" },
    { prefix: "/v1/embeddings", resource: "embeddings", modelRequired: true, usage: "embeddings" },
    { prefix: "/v1/models", resource: "models", modelInPath: true },
    { prefix: "/v1/images", resource: "images", modelRequired: true },
    { prefix: "/v1/audio", resource: "audio", modelRequired: true },
    { prefix: "/v1/moderations", resource: "moderations", modelRequired: true },
    { prefix: "/v1/files", resource: "files", streamBody: true },
    { prefix: "/v1/uploads", resource: "files", streamBody: true },
    { prefix: "/v1/batches", resource: "batches", opaqueModels: true },
    { prefix: "/v1/fine_tuning", resource: "fine_tuning" },
    { prefix: "/v1/assistants", resource: "assistants" },
    { prefix: "/v1/threads", resource: "assistants" },
    { prefix: "/v1/vector_stores", resource: "vector_stores" },
  ] satisfies Rule[]
).sort((a, b) => b.prefix.length - a.prefix.length);

const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Classifies a normalized path (see `normalizePath`). GETs are reads; everything else writes.
 * JSON bodies are checked for `model` on every write, multipart forms for a `model` field.
 */
export function classify(method: string, path: string, contentType: string | undefined): RouteInfo {
  const access: Access = READ_METHODS.has(method) ? "read" : "write";
  const rule = RULES.find((r) => path === r.prefix || path.startsWith(r.prefix + "/"));
  const bodyModel: ModelSource =
    access === "read" ? "none" : contentType?.startsWith("multipart/form-data") ? "multipart" : "json";
  if (!rule) {
    return {
      endpoint: "other",
      resource: undefined,
      access,
      modelSource: bodyModel,
      usage: "none",
      opaqueModels: true,
      streamBody: false,
      modelRequired: false,
    };
  }
  const modelSource =
    rule.modelInPath && path.length > rule.prefix.length ? "path" : rule.streamBody ? "none" : bodyModel;
  return {
    endpoint: rule.prefix,
    resource: rule.resource,
    access,
    modelSource,
    usage: rule.usage && access === "write" ? rule.usage : "none",
    opaqueModels: rule.opaqueModels === true,
    streamBody: rule.streamBody === true,
    modelRequired: rule.modelRequired === true && access === "write",
  };
}

const SLASH = 0x2f;
const DOT = 0x2e;
const BACKSLASH = 0x5c;
const PERCENT = 0x25;

/**
 * The path the gateway checks and forwards, or null when it is ambiguous. Dot segments, empty
 * segments, encoded slashes/dots/backslashes are refused rather than interpreted: a path that
 * could mean two things to two parsers is a bypass waiting to happen. One trailing slash is
 * dropped. (One pass over the characters: this runs on every request.)
 */
export function normalizePath(rawPath: string): string | null {
  if (!rawPath.startsWith("/v1/") && rawPath !== "/v1") return null;
  const end = rawPath.charCodeAt(rawPath.length - 1) === SLASH ? rawPath.length - 1 : rawPath.length;
  let segmentStart = 1;
  for (let i = 1; i <= end; i++) {
    const c = i === end ? SLASH : rawPath.charCodeAt(i);
    if (c === SLASH) {
      const length = i - segmentStart;
      if (length === 0) return null;
      if (length <= 2 && rawPath.charCodeAt(segmentStart) === DOT && rawPath.charCodeAt(i - 1) === DOT)
        return null;
      segmentStart = i + 1;
    } else if (c === BACKSLASH || (c === PERCENT && isEncodedSeparator(rawPath, i + 1))) {
      return null;
    }
  }
  return end === rawPath.length ? rawPath : rawPath.slice(0, end);
}

/** `%2f`, `%2e` or `%5c` (any case) at `at`: an encoded slash, dot or backslash. */
function isEncodedSeparator(s: string, at: number): boolean {
  const hi = s.charCodeAt(at);
  const lo = s.charCodeAt(at + 1) | 0x20; // lower-cased (digits are not compared)
  return (hi === 0x32 && (lo === 0x66 || lo === 0x65)) || (hi === 0x35 && lo === 0x63);
}
