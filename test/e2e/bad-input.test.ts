import { randomUUID } from "node:crypto";
import { isIP } from "node:net";
import fc from "fast-check";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { ERROR_STATUS, type ErrorCode } from "../../src/core/errors.js";
import { generateKey } from "../../src/core/key-format.js";
import { RESOURCES } from "../../src/core/permissions.js";
import { ROLES } from "../../src/core/roles.js";
import { startTestServer, testDialects, type TestServer } from "../support/harness.js";

/**
 * Bad input gets a specific 4xx in the documented envelope and changes nothing (DESIGN.md,
 * principle 5). Part 1: one table row per kind of bad request, exact status + code. Part 2:
 * fast-check fuzzes every mutating route with bodies that are invalid by construction and checks
 * that none gets a 2xx or a 5xx, every error is a well-formed envelope, and the store is untouched.
 */

const API = "/api/v1";
const MAX_BODY_BYTES = 64 * 1024; // the default maxBodyBytes
const RUNS_PER_ROUTE = 300;

// ---------------------------------------------------------------------------------------------
// Requests and the error envelope

interface Reply {
  status: number;
  requestId: string | null;
  contentType: string | null;
  text: string;
}

interface RequestSpec {
  /** Serialised with JSON.stringify. */
  json?: unknown;
  /** Sent byte for byte. */
  raw?: string | Uint8Array;
  /** Defaults to application/json when there is a body; null sends no Content-Type at all. */
  contentType?: string | null;
  /** The admin key to send as `Bearer <key>`; null sends no Authorization. Default: the owner key. */
  adminKey?: string | null;
  /** The Authorization header verbatim (wins over adminKey). */
  authorization?: string;
  headers?: Record<string, string>;
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Sends one request to `path` (from the server root) and reads the whole reply. */
async function sendTo(t: TestServer, method: string, path: string, spec: RequestSpec = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...spec.headers };
  const adminKey = spec.adminKey === undefined ? t.ownerKey : spec.adminKey;
  if (spec.authorization !== undefined) headers.authorization = spec.authorization;
  else if (adminKey !== null) headers.authorization = `Bearer ${adminKey}`;
  const body =
    spec.json !== undefined
      ? utf8(JSON.stringify(spec.json))
      : typeof spec.raw === "string"
        ? utf8(spec.raw)
        : spec.raw;
  const contentType = spec.contentType === undefined ? (body ? "application/json" : null) : spec.contentType;
  if (contentType !== null) headers["content-type"] = contentType;
  const res = await fetch(t.url + path, { method, headers, ...(body ? { body } : {}) });
  return {
    status: res.status,
    requestId: res.headers.get("x-request-id"),
    contentType: res.headers.get("content-type"),
    text: await res.text(),
  };
}

/** Sends one request to the management API (`path` below /api/v1). */
const send = (t: TestServer, method: string, path: string, spec: RequestSpec = {}) =>
  sendTo(t, method, API + path, spec);

const KNOWN_CODES = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];

/** The documented error envelope, exactly: nothing else may ride along (no stack, no cause). */
const Envelope = z
  .object({
    error: z
      .object({
        code: z.enum(KNOWN_CODES),
        message: z.string().min(1),
        request_id: z.string().min(1),
        details: z.array(z.object({ path: z.string(), message: z.string() }).strict()).optional(),
      })
      .strict(),
  })
  .strict();
type Envelope = z.infer<typeof Envelope>;

/** Things that must never reach a client: stack frames, source paths, raw exceptions, SQL. */
const LEAKS: ReadonlyArray<readonly [string, RegExp]> = [
  ["a stack frame", /\bat (?:async )?[\w$.<>]+ \(|\bat (?:file:|node:|\/)/],
  ["a source path", /node_modules|file:\/\/|\/work\/|\/src\/|\.(?:ts|js|mjs|cjs):\d+/],
  ["an internal exception", /\b(?:Type|Range|Syntax|Reference|URI)?Error:|Maximum call stack/],
  ["SQL", /\bselect\b.*\bfrom\b|\binsert\s+into\b|\bdelete\s+from\b|\bupdate\s+"?\w+"?\s+set\b/i],
  ["a driver error", /SQLITE_|duplicate key|violates|syntax error at|relation "|invalid byte sequence/i],
];

function expectNoLeak(text: string): void {
  for (const [what, pattern] of LEAKS) expect(text, `response leaks ${what}`).not.toMatch(pattern);
}

/** Any error reply: the JSON envelope, a catalogue code that matches the status, the request id. */
function expectEnvelope(reply: Reply): Envelope {
  expect(reply.contentType, reply.text).toMatch(/^application\/json\b/);
  let body: unknown;
  try {
    body = JSON.parse(reply.text);
  } catch {
    throw new Error(`error reply is not JSON: ${reply.text.slice(0, 200)}`);
  }
  const parsed = Envelope.safeParse(body);
  if (!parsed.success) throw new Error(`not the error envelope: ${reply.text.slice(0, 300)}`);
  const envelope = parsed.data;
  expect(reply.status, "status agrees with the code's catalogue status").toBe(
    ERROR_STATUS[envelope.error.code],
  );
  expect(envelope.error.request_id).toBe(reply.requestId);
  expectNoLeak(reply.text);
  return envelope;
}

interface Expected {
  status: number;
  code: ErrorCode;
  /** The message must match this. */
  message?: RegExp;
  /** One of the field-level details must have this path. */
  detail?: string;
}

function expectError(reply: Reply, e: Expected): Envelope {
  expect(reply.status, reply.text).toBe(e.status);
  const envelope = expectEnvelope(reply);
  expect(envelope.error.code).toBe(e.code);
  if (e.message) expect(envelope.error.message).toMatch(e.message);
  if (e.detail) expect(envelope.error.details?.map((d) => d.path)).toContain(e.detail);
  return envelope;
}

// ---------------------------------------------------------------------------------------------
// "Changes nothing": the audit log and every table a management call can write

async function auditCount(t: TestServer): Promise<number> {
  const r = await sql<{ n: number | string }>`select count(*) as n from audit_log`.execute(t.ctx.store.db);
  return Number(r.rows[0]!.n);
}

/** Everything a mutating call could change (last_used_at is bumped by authentication itself). */
async function storeState(t: TestServer) {
  const db = t.ctx.store.db;
  const count = async (table: string) =>
    Number(
      (await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(db)).rows[0]!
        .n,
    );
  return {
    auditEntries: await auditCount(t),
    auditHead: await db.selectFrom("audit_head").selectAll().execute(),
    projects: await db.selectFrom("projects").selectAll().orderBy("id").execute(),
    keys: await db
      .selectFrom("api_keys")
      .select([
        "id",
        "name",
        "status",
        "permissions",
        "allowed_models",
        "allowed_ips",
        "metadata",
        "updated_at",
        "expires_at",
        "revoked_at",
        "revoked_reason",
      ])
      .orderBy("id")
      .execute(),
    secrets: await db
      .selectFrom("key_secrets")
      .select(["hash", "key_id", "expires_at"])
      .orderBy("hash")
      .execute(),
    adminKeys: await db
      .selectFrom("admin_keys")
      .select(["id", "name", "role", "revoked_at"])
      .orderBy("id")
      .execute(),
    idempotency: await count("idempotency"),
  };
}

// ---------------------------------------------------------------------------------------------
// Fixtures: a project, keys in several states, admin keys of every role

const FIXTURE_NAMES = [
  "project",
  "key",
  "keySecret",
  "revokeTarget",
  "revokedKey",
  "readerKey",
  "memberKey",
  "adminKey",
  "revokedAdminKey",
  "idempotencyKey",
] as const;
type Fixture = Record<(typeof FIXTURE_NAMES)[number], string>;

async function createFixture(t: TestServer): Promise<Fixture> {
  const project = (await t.client.createProject({ name: "bad-input" })).id;
  const key = await t.client.createKey(project, { name: "owned-by-owner" });
  const revokeTarget = (await t.client.createKey(project, { name: "revoke-target" })).id;
  const revokedKey = (await t.client.createKey(project, { name: "already-revoked" })).id;
  await t.client.revokeKey(revokedKey, "test");
  const role = async (r: string) => (await t.client.createAdminKey({ name: r, role: r })).key;
  const gone = await t.client.createAdminKey({ name: "gone", role: "admin" });
  await t.client.revokeAdminKey(gone.id);
  const idempotencyKey = `idem-${randomUUID()}`;
  await t.client.createKey(project, { name: "idempotent" }, idempotencyKey);
  return {
    project,
    key: key.id,
    keySecret: key.key,
    revokeTarget,
    revokedKey,
    readerKey: await role("reader"),
    memberKey: await role("member"),
    adminKey: await role("admin"),
    revokedAdminKey: gone.key,
    idempotencyKey,
  };
}

/** Replaces `{name}` with the fixture's value. */
function fill(template: string, f: Fixture): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    if (!(FIXTURE_NAMES as readonly string[]).includes(name)) throw new Error(`no fixture {${name}}`);
    return f[name as keyof Fixture];
  });
}

// ---------------------------------------------------------------------------------------------
// Part 1: specific cases

type As = "nobody" | "reader" | "member" | "admin" | "revokedAdmin" | "unknownAdmin" | "gatewayKey";

interface Case extends Expected {
  name: string;
  method: string;
  /** Below /api/v1; `{fixture}` placeholders are filled in. */
  path: string;
  request?: Omit<RequestSpec, "adminKey">;
  /** Who sends it (default: the owner). */
  as?: As;
}

const UNKNOWN = {
  project: `proj_${"0".repeat(26)}`,
  key: `key_${"0".repeat(26)}`,
  admin: `adm_${"0".repeat(26)}`,
};
const PAST = "2001-01-01T00:00:00Z";
const FUTURE = new Date(Date.now() + 30 * 86400_000).toISOString();

/** `{"name":"x","pad":"aaa…"}` of exactly `bytes` bytes. */
function paddedBody(bytes: number): string {
  const head = '{"name":"x","pad":"';
  const tail = '"}';
  return head + "a".repeat(bytes - head.length - tail.length) + tail;
}

// One row per case, kept on one line each so the table reads as a table.
// prettier-ignore
const CASES: Case[] = [
  // malformed JSON
  { name: "truncated JSON", method: "POST", path: "/projects", request: { raw: '{"name": "x",' }, status: 400, code: "invalid_json" },
  { name: "JavaScript, not JSON", method: "POST", path: "/projects", request: { raw: "{name: 'x'}" }, status: 400, code: "invalid_json" },
  { name: "trailing garbage", method: "POST", path: "/keys/verify", request: { raw: '{"key":"k"}}' }, status: 400, code: "invalid_json" },
  { name: "not JSON at all (PATCH)", method: "PATCH", path: "/keys/{key}", request: { raw: "name=x" }, status: 400, code: "invalid_json" },
  { name: "empty body declared as JSON", method: "POST", path: "/projects", request: { raw: "" }, status: 400, code: "invalid_json" },
  { name: "broken JSON on an optional body (rotate)", method: "POST", path: "/keys/{key}/rotate", request: { raw: "{" }, status: 400, code: "invalid_json" },
  { name: "NaN is not JSON", method: "POST", path: "/keys/{key}/rotate", request: { raw: '{"grace_seconds":NaN}' }, status: 400, code: "invalid_json" },

  // wrong types and values
  { name: "name: 5", method: "POST", path: "/projects", request: { json: { name: 5 } }, status: 400, code: "invalid_request", detail: "name" },
  { name: "blank name", method: "POST", path: "/projects", request: { json: { name: "   " } }, status: 400, code: "invalid_request", detail: "name" },
  { name: "name with a NUL", method: "POST", path: "/projects", request: { json: { name: "a\u0000b" } }, status: 400, code: "invalid_request", detail: "name" },
  { name: "name with an unpaired surrogate", method: "POST", path: "/projects", request: { json: { name: "a\ud800" } }, status: 400, code: "invalid_request", detail: "name" },
  { name: "description: array", method: "POST", path: "/projects", request: { json: { name: "x", description: ["a"] } }, status: 400, code: "invalid_request", detail: "description" },
  { name: "body is an array", method: "POST", path: "/projects", request: { json: [] }, status: 400, code: "invalid_request", detail: "(body)" },
  { name: "body is null", method: "POST", path: "/keys/{key}/revoke", request: { json: null }, status: 400, code: "invalid_request", detail: "(body)" },
  { name: "body is a string", method: "POST", path: "/admin-keys", request: { json: "admin" }, status: 400, code: "invalid_request", detail: "(body)" },
  { name: "ttl_seconds as a string", method: "POST", path: "/projects/{project}/keys", request: { json: { name: "k", ttl_seconds: "3600" } }, status: 400, code: "invalid_request", detail: "ttl_seconds" },
  { name: "ttl_seconds below the minimum", method: "POST", path: "/projects/{project}/keys", request: { json: { name: "k", ttl_seconds: 59 } }, status: 400, code: "invalid_request", detail: "ttl_seconds" },
  { name: "ttl_seconds 1e309 (Infinity)", method: "POST", path: "/projects/{project}/keys", request: { raw: '{"name":"k","ttl_seconds":1e309}' }, status: 400, code: "invalid_request", detail: "ttl_seconds" },
  { name: "unknown access level", method: "POST", path: "/projects/{project}/keys", request: { json: { name: "k", permissions: { mode: "restricted", resources: { chat_completions: "admin" } } } }, status: 400, code: "invalid_request", detail: "permissions.resources.chat_completions" },
  { name: "unknown permission mode", method: "POST", path: "/projects/{project}/keys", request: { json: { name: "k", permissions: { mode: "root" } } }, status: 400, code: "invalid_request", detail: "permissions.mode" },
  { name: "bad CIDR", method: "POST", path: "/projects/{project}/keys", request: { json: { name: "k", allowed_ips: ["10.0.0.0/33"] } }, status: 400, code: "invalid_request", detail: "allowed_ips.0" },
  { name: "empty model allowlist", method: "POST", path: "/projects/{project}/keys", request: { json: { name: "k", allowed_models: [] } }, status: 400, code: "invalid_request", detail: "allowed_models" },
  { name: "metadata: string", method: "PATCH", path: "/keys/{key}", request: { json: { metadata: "x" } }, status: 400, code: "invalid_request", detail: "metadata" },
  { name: "metadata nested 20,000 levels", method: "PATCH", path: "/keys/{key}", request: { raw: `{"metadata":{"a":${"[".repeat(20_000)}${"]".repeat(20_000)}}}` }, status: 400, code: "invalid_request", detail: "metadata" },
  { name: "metadata over 4 KiB", method: "PATCH", path: "/keys/{key}", request: { json: { metadata: { blob: "x".repeat(5000) } } }, status: 400, code: "invalid_request", detail: "metadata" },
  { name: "empty PATCH", method: "PATCH", path: "/keys/{key}", request: { json: {} }, status: 400, code: "invalid_request", message: /nothing to update/ },
  { name: "negative grace", method: "POST", path: "/keys/{key}/rotate", request: { json: { grace_seconds: -1 } }, status: 400, code: "invalid_request", detail: "grace_seconds" },
  { name: "fractional grace", method: "POST", path: "/keys/{key}/rotate", request: { json: { grace_seconds: 1.5 } }, status: 400, code: "invalid_request", detail: "grace_seconds" },
  { name: "revoke reason: number", method: "POST", path: "/keys/{revokeTarget}/revoke", request: { json: { reason: 7 } }, status: 400, code: "invalid_request", detail: "reason" },
  { name: "verify key: number", method: "POST", path: "/keys/verify", request: { json: { key: 123 } }, status: 400, code: "invalid_request", detail: "key" },
  { name: "verify ip: not an IP", method: "POST", path: "/keys/verify", request: { json: { key: "k", ip: "999.1.1.1" } }, status: 400, code: "invalid_request", detail: "ip" },
  { name: "unknown admin role", method: "POST", path: "/admin-keys", request: { json: { name: "x", role: "superuser" } }, status: 400, code: "invalid_request", detail: "role" },

  // unknown fields
  { name: "unknown top-level field", method: "POST", path: "/projects", request: { json: { name: "x", colour: "red" } }, status: 400, code: "invalid_request", message: /colour/ },
  { name: "unknown field on PATCH", method: "PATCH", path: "/keys/{key}", request: { json: { name: "x", is_admin: true } }, status: 400, code: "invalid_request", message: /is_admin/ },
  { name: "unknown field on verify", method: "POST", path: "/keys/verify", request: { json: { key: "k", project_id: "p" } }, status: 400, code: "invalid_request", message: /project_id/ },
  { name: "unknown nested field", method: "POST", path: "/projects/{project}/keys", request: { json: { name: "x", permissions: { mode: "all", resources: {} } } }, status: 400, code: "invalid_request", message: /resources/ },
  { name: "__proto__ as a field", method: "POST", path: "/projects", request: { raw: '{"name":"x","__proto__":{"admin":true}}' }, status: 400, code: "invalid_request", message: /__proto__/ },
  { name: "unknown field on an optional body (rotate)", method: "POST", path: "/keys/{key}/rotate", request: { json: { grace: 60 } }, status: 400, code: "invalid_request", message: /grace/ },

  // oversized bodies (the limit is inclusive)
  { name: "body over 64 KiB", method: "POST", path: "/projects", request: { json: { name: "x", description: "a".repeat(70_000) } }, status: 413, code: "payload_too_large" },
  { name: "body one byte over the limit", method: "POST", path: "/projects", request: { raw: paddedBody(MAX_BODY_BYTES + 1) }, status: 413, code: "payload_too_large" },
  { name: "body exactly at the limit is read (and then refused for its content)", method: "POST", path: "/projects", request: { raw: paddedBody(MAX_BODY_BYTES) }, status: 400, code: "invalid_request", message: /pad/ },

  // wrong content types
  { name: "text/plain body", method: "POST", path: "/projects", request: { json: { name: "x" }, contentType: "text/plain" }, status: 415, code: "unsupported_media_type" },
  { name: "form body", method: "POST", path: "/projects", request: { raw: "name=x", contentType: "application/x-www-form-urlencoded" }, status: 415, code: "unsupported_media_type" },
  { name: "body without a content type", method: "POST", path: "/projects", request: { json: { name: "x" }, contentType: null }, status: 415, code: "unsupported_media_type" },
  { name: "text/plain on an optional body is not read as 'no body'", method: "POST", path: "/keys/{key}/rotate", request: { json: { grace_seconds: 60 }, contentType: "text/plain" }, status: 415, code: "unsupported_media_type" },
  { name: "multipart revoke", method: "POST", path: "/keys/{revokeTarget}/revoke", request: { raw: "--x\r\n\r\n--x--", contentType: "multipart/form-data; boundary=x" }, status: 415, code: "unsupported_media_type" },
  { name: "JSON media type with a stray ';'", method: "POST", path: "/projects", request: { json: { name: "x" }, contentType: "application/json;" }, status: 415, code: "unsupported_media_type" },

  // bad ids in paths
  { name: "/keys/nope", method: "GET", path: "/keys/nope", status: 400, code: "invalid_id", detail: "key_id" },
  { name: "/projects/123", method: "GET", path: "/projects/123", status: 400, code: "invalid_id", detail: "project_id" },
  { name: "PATCH /projects/123", method: "PATCH", path: "/projects/123", request: { json: { name: "x" } }, status: 400, code: "invalid_id" },
  { name: "create a key under a bad project id", method: "POST", path: "/projects/nope/keys", request: { json: { name: "x" } }, status: 400, code: "invalid_id" },
  { name: "rotate /keys/nope", method: "POST", path: "/keys/nope/rotate", request: { json: {} }, status: 400, code: "invalid_id" },
  { name: "revoke an admin key by a bad id", method: "POST", path: "/admin-keys/nope/revoke", status: 400, code: "invalid_id" },
  { name: "a project id where a key id belongs", method: "GET", path: "/keys/{project}", status: 400, code: "invalid_id" },
  { name: "lower-case id", method: "GET", path: `/keys/${UNKNOWN.key.toLowerCase().replace("0", "a")}`, status: 400, code: "invalid_id" },
  { name: "broken percent-encoding", method: "GET", path: "/keys/%E0%A4%A", status: 400, code: "invalid_id" },
  { name: "emoji id", method: "DELETE", path: "/keys/%F0%9F%94%91", status: 400, code: "invalid_id" },

  // unknown ids of a valid shape
  { name: "unknown key", method: "GET", path: `/keys/${UNKNOWN.key}`, status: 404, code: "not_found" },
  { name: "unknown project", method: "GET", path: `/projects/${UNKNOWN.project}`, status: 404, code: "not_found" },
  { name: "rename an unknown project", method: "PATCH", path: `/projects/${UNKNOWN.project}`, request: { json: { name: "x" } }, status: 404, code: "not_found" },
  { name: "create a key in an unknown project", method: "POST", path: `/projects/${UNKNOWN.project}/keys`, request: { json: { name: "x" } }, status: 404, code: "not_found" },
  { name: "list keys of an unknown project", method: "GET", path: `/projects/${UNKNOWN.project}/keys`, status: 404, code: "not_found" },
  { name: "update an unknown key", method: "PATCH", path: `/keys/${UNKNOWN.key}`, request: { json: { name: "x" } }, status: 404, code: "not_found" },
  { name: "rotate an unknown key", method: "POST", path: `/keys/${UNKNOWN.key}/rotate`, request: { json: {} }, status: 404, code: "not_found" },
  { name: "revoke an unknown key", method: "POST", path: `/keys/${UNKNOWN.key}/revoke`, request: { json: {} }, status: 404, code: "not_found" },
  { name: "revoke an unknown admin key", method: "POST", path: `/admin-keys/${UNKNOWN.admin}/revoke`, status: 404, code: "not_found" },

  // authentication
  { name: "no Authorization", method: "GET", path: "/projects", as: "nobody", status: 401, code: "unauthorized", message: /missing admin key/ },
  { name: "no Authorization on a write", method: "POST", path: "/projects", request: { json: { name: "x" } }, as: "nobody", status: 401, code: "unauthorized" },
  { name: "no Authorization and a malformed body: 401, not 400", method: "POST", path: "/projects", request: { raw: "{" }, as: "nobody", status: 401, code: "unauthorized" },
  { name: "Basic auth", method: "GET", path: "/projects", request: { authorization: "Basic dXNlcjpwYXNz" }, status: 401, code: "unauthorized", message: /malformed Authorization/ },
  { name: "Bearer without a key", method: "GET", path: "/projects", request: { authorization: "Bearer" }, status: 401, code: "unauthorized", message: /malformed Authorization/ },
  { name: "Bearer with two tokens", method: "GET", path: "/projects", request: { authorization: "Bearer a b" }, status: 401, code: "unauthorized", message: /malformed Authorization/ },
  { name: "garbage admin key", method: "GET", path: "/projects", request: { authorization: "Bearer kw_admin_nope" }, status: 401, code: "unauthorized", message: /invalid or revoked/ },
  { name: "well-formed but unknown admin key", method: "GET", path: "/projects", as: "unknownAdmin", status: 401, code: "unauthorized", message: /invalid or revoked/ },
  { name: "a gateway key is not an admin key", method: "GET", path: "/projects", as: "gatewayKey", status: 401, code: "unauthorized" },
  { name: "revoked admin key", method: "GET", path: "/projects", as: "revokedAdmin", status: 401, code: "unauthorized", message: /invalid or revoked/ },
  { name: "revoked admin key on a write", method: "POST", path: "/projects", request: { json: { name: "x" } }, as: "revokedAdmin", status: 401, code: "unauthorized" },

  // roles
  { name: "reader creates a project", method: "POST", path: "/projects", request: { json: { name: "r" } }, as: "reader", status: 403, code: "forbidden" },
  { name: "reader creates a key", method: "POST", path: "/projects/{project}/keys", request: { json: { name: "r" } }, as: "reader", status: 403, code: "forbidden" },
  { name: "reader revokes a key", method: "POST", path: "/keys/{revokeTarget}/revoke", request: { json: {} }, as: "reader", status: 403, code: "forbidden" },
  { name: "reader creates an admin key", method: "POST", path: "/admin-keys", request: { json: { name: "r", role: "reader" } }, as: "reader", status: 403, code: "forbidden" },
  { name: "member renames someone else's key", method: "PATCH", path: "/keys/{key}", request: { json: { name: "mine now" } }, as: "member", status: 403, code: "forbidden", message: /only keys they created/ },
  { name: "member rotates someone else's key", method: "POST", path: "/keys/{key}/rotate", request: { json: {} }, as: "member", status: 403, code: "forbidden" },
  { name: "member revokes someone else's key", method: "POST", path: "/keys/{revokeTarget}/revoke", request: { json: {} }, as: "member", status: 403, code: "forbidden" },
  { name: "member disables someone else's key", method: "POST", path: "/keys/{key}/disable", as: "member", status: 403, code: "forbidden" },
  { name: "member creates a project", method: "POST", path: "/projects", request: { json: { name: "m" } }, as: "member", status: 403, code: "forbidden" },
  { name: "member lists admin keys", method: "GET", path: "/admin-keys", as: "member", status: 403, code: "forbidden" },
  { name: "admin mints an owner key", method: "POST", path: "/admin-keys", request: { json: { name: "o", role: "owner" } }, as: "admin", status: 403, code: "forbidden" },

  // unknown routes and methods
  { name: "unknown API route", method: "GET", path: "/nope", status: 404, code: "not_found" },
  { name: "unknown method on a known path", method: "DELETE", path: "/projects", status: 404, code: "not_found" },
  { name: "POST /keys/revoke (no id)", method: "POST", path: "/keys/revoke", request: { json: {} }, status: 404, code: "not_found" },

  // query parameters
  { name: "limit=0", method: "GET", path: "/keys?limit=0", status: 400, code: "invalid_request", detail: "limit" },
  { name: "limit=abc", method: "GET", path: "/keys?limit=abc", status: 400, code: "invalid_request", detail: "limit" },
  { name: "limit=101", method: "GET", path: "/projects?limit=101", status: 400, code: "invalid_request", detail: "limit" },
  { name: "limit=1.5", method: "GET", path: "/projects/{project}/keys?limit=1.5", status: 400, code: "invalid_request", detail: "limit" },
  { name: "limit=1e400", method: "GET", path: "/keys?limit=1e400", status: 400, code: "invalid_request", detail: "limit" },
  { name: "status=bogus", method: "GET", path: "/keys?status=bogus", status: 400, code: "invalid_request", detail: "status" },
  { name: "after=nope", method: "GET", path: "/keys?after=nope", status: 400, code: "invalid_request", detail: "after" },
  { name: "project_id filter of the wrong shape", method: "GET", path: "/keys?project_id=123", status: 400, code: "invalid_request", detail: "project_id" },
  { name: "audit since=yesterday", method: "GET", path: "/audit?since=yesterday", status: 400, code: "invalid_request", detail: "since" },
  { name: "audit before_seq=0", method: "GET", path: "/audit?before_seq=0", status: 400, code: "invalid_request", detail: "before_seq" },
  { name: "audit filter with a NUL", method: "GET", path: "/audit?action=%00", status: 400, code: "invalid_request", detail: "action" },
  { name: "audit export format=xml", method: "GET", path: "/audit/export?format=xml", status: 400, code: "invalid_request", detail: "format" },

  // expiry
  { name: "expires_at in the past (create)", method: "POST", path: "/projects/{project}/keys", request: { json: { name: "k", expires_at: PAST } }, status: 400, code: "invalid_request", detail: "expires_at" },
  { name: "expires_at in the past (update)", method: "PATCH", path: "/keys/{key}", request: { json: { expires_at: PAST } }, status: 400, code: "invalid_request", detail: "expires_at" },
  { name: "expires_at not a date", method: "POST", path: "/projects/{project}/keys", request: { json: { name: "k", expires_at: "tomorrow" } }, status: 400, code: "invalid_request", detail: "expires_at" },
  { name: "expires_at without a zone", method: "POST", path: "/projects/{project}/keys", request: { json: { name: "k", expires_at: "2030-01-01T00:00:00" } }, status: 400, code: "invalid_request", detail: "expires_at" },
  { name: "expires_at on Feb 30", method: "POST", path: "/projects/{project}/keys", request: { json: { name: "k", expires_at: "2030-02-30T00:00:00Z" } }, status: 400, code: "invalid_request", detail: "expires_at" },
  { name: "ttl_seconds together with expires_at", method: "POST", path: "/projects/{project}/keys", request: { json: { name: "k", ttl_seconds: 3600, expires_at: FUTURE } }, status: 400, code: "invalid_request", detail: "ttl_seconds" },

  // idempotency
  { name: "Idempotency-Key reused with a different body", method: "POST", path: "/projects/{project}/keys", request: { json: { name: "something else" }, headers: { "idempotency-key": "{idempotencyKey}" } }, status: 422, code: "idempotency_key_reused" },
  { name: "Idempotency-Key too short", method: "POST", path: "/keys/{key}/rotate", request: { json: {}, headers: { "idempotency-key": "short" } }, status: 400, code: "invalid_request", detail: "idempotency-key" },

  // state conflicts
  { name: "rotate a revoked key", method: "POST", path: "/keys/{revokedKey}/rotate", request: { json: { grace_seconds: 0 } }, status: 409, code: "conflict" },
  { name: "update a revoked key", method: "PATCH", path: "/keys/{revokedKey}", request: { json: { name: "back" } }, status: 409, code: "conflict" },
  { name: "enable a revoked key", method: "POST", path: "/keys/{revokedKey}/enable", status: 409, code: "conflict" },
  { name: "duplicate project name", method: "POST", path: "/projects", request: { json: { name: "bad-input" } }, status: 409, code: "conflict" },
];

function adminKeyFor(as: As | undefined, t: TestServer, f: Fixture): string | null {
  switch (as) {
    case undefined:
      return t.ownerKey;
    case "nobody":
      return null;
    case "reader":
      return f.readerKey;
    case "member":
      return f.memberKey;
    case "admin":
      return f.adminKey;
    case "revokedAdmin":
      return f.revokedAdminKey;
    case "unknownAdmin":
      return generateKey("kw", "admin");
    case "gatewayKey":
      return f.keySecret;
  }
}

// ---------------------------------------------------------------------------------------------
// Part 2: generators of bodies that are invalid by construction

/** A JSON token written verbatim (numbers JSON.stringify cannot write, very deep nesting). */
class RawJson {
  constructor(readonly text: string) {}
}

/** JSON.stringify that also writes RawJson tokens (generated values are shallow, so recursion is fine). */
function toJsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const members = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${toJsonText(v)}`);
    return `{${members.join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Whether the server would read these bytes as a JSON object (BOM stripped, bad UTF-8 replaced). */
function decodesToObject(bytes: Uint8Array): boolean {
  try {
    return isObject(JSON.parse(new TextDecoder().decode(bytes)));
  } catch {
    return false;
  }
}

const json = fc.jsonValue({ maxDepth: 3 });
/** Any JSON value the field does not accept. */
const wrongType = (accepts: (v: unknown) => boolean) => json.filter((v) => !accepts(v));
const isString = (v: unknown) => typeof v === "string";
const isStringOrNull = (v: unknown) => typeof v === "string" || v === null;

/** `n` ≥ min repetitions of one (possibly multi-byte) character; long ones exceed the body limit. */
const huge = (min: number) =>
  fc
    .tuple(fc.integer({ min, max: 70_000 }), fc.constantFrom("a", "é", "💥", " x", "\\", '"', "\u2028"))
    .map(([n, c]) => c.repeat(n));

/** Arrays or objects nested at least `min` levels deep (up to 30,000). */
const deep = (min: number) =>
  fc
    .tuple(fc.integer({ min, max: 30_000 }), fc.boolean())
    .map(([d, arrays]) =>
      arrays
        ? new RawJson("[".repeat(d) + "]".repeat(d))
        : new RawJson('{"a":'.repeat(d) + "1" + "}".repeat(d)),
    );

/** Text no store can keep as given: NUL, unpaired surrogates. */
const unstorable = fc
  .tuple(
    fc.string({ maxLength: 10 }),
    fc.constantFrom("\u0000", "\ud800", "\udfff", "\udc00\ud800"),
    fc.string({ maxLength: 10 }),
  )
  .map(([a, bad, b]) => `x${a}${bad}${b}`);

const NUMBER_TOKENS = [
  "1e309",
  "-1e309",
  "1e400",
  "-0",
  "-0.0",
  "1e-400",
  "0.5",
  "-1",
  "59",
  "1E2",
  "2592001",
  "123456789012345678901234567890",
];

/** Numbers the field refuses: odd literals, doubles, integers out of range, numbers in strings. */
const badNumber = (valid: (n: number) => boolean) =>
  fc.oneof(
    fc.constantFrom(...NUMBER_TOKENS.filter((s) => !valid(Number(s)))).map((s) => new RawJson(s)),
    fc.double().filter((d) => !valid(d)), // NaN and ±Infinity are written as null: refused too
    fc.integer().filter((n) => !valid(n)),
    fc.constantFrom("NaN", "Infinity", "-0", "1e309", "60", ""),
    wrongType((v) => typeof v === "number"),
  );

const badText = (max: number, nullable = false) =>
  fc.oneof(wrongType(nullable ? isStringOrNull : isString), huge(max + 1), unstorable, deep(1));

const badName = fc.oneof(badText(128), fc.constantFrom("", " ", "\t\n ", "\u00a0", "\u3000"));

const badEnum = (values: readonly string[]) =>
  fc.oneof(
    fc.string().filter((s) => !values.includes(s)),
    fc.constantFrom(...values.map((v) => v.toUpperCase()), ...values.map((v) => ` ${v}`)),
    wrongType(isString),
  );

/** A field name not in `known` (and never `__proto__`, which zod drops silently from records). */
const unknownKey = (known: readonly string[]) =>
  fc.string({ unit: "binary", maxLength: 30 }).filter((k) => !known.includes(k) && k !== "__proto__");

/** Any value at all, including the awkward ones. */
const anyValue = fc.oneof(
  json,
  deep(1),
  huge(1),
  unstorable,
  fc.constantFrom(...NUMBER_TOKENS).map((s) => new RawJson(s)),
);

const badPermissions = fc.oneof(
  wrongType(isObject),
  badEnum(["all", "read_only", "restricted"]).map((mode) => ({ mode })),
  fc.constant({}),
  fc.constant({ mode: "restricted" }),
  fc
    .tuple(fc.constantFrom("all", "read_only"), unknownKey(["mode"]), anyValue)
    .map(([mode, k, v]) => ({ mode, [k]: v })),
  fc
    .tuple(fc.constantFrom(...RESOURCES), badEnum(["none", "read", "write"]))
    .map(([r, level]) => ({ mode: "restricted", resources: { [r]: level } })),
  unknownKey(RESOURCES).map((r) => ({ mode: "restricted", resources: { [r]: "read" } })),
  wrongType(isObject).map((resources) => ({ mode: "restricted", resources })),
  deep(1),
);

const isListOrNull = (v: unknown) => Array.isArray(v) || v === null;

const badModels = fc.oneof(
  wrongType(isListOrNull),
  fc.constant([]),
  fc.string().map((s) => [`bad model ${s}`]),
  fc.constantFrom([""], ["*"], ["gpt*4o"], ["a".repeat(129)]),
  fc.array(fc.constant("gpt-4o"), { minLength: 101, maxLength: 150 }),
  fc.array(wrongType(isString), { minLength: 1, maxLength: 3 }),
  deep(1),
);

const badIps = fc.oneof(
  wrongType(isListOrNull),
  fc.constant([]),
  fc.string().map((s) => [`x${s}`]),
  fc.constantFrom(
    ["10.0.0.0/33"],
    ["256.0.0.1"],
    ["::1/129"],
    ["10.0.0.1/"],
    ["10.0.0.1/-1"],
    [" 10.0.0.1"],
    ["10.0.0.0/8", "nope"],
  ),
  fc.array(fc.constant("10.0.0.0/8"), { minLength: 101, maxLength: 120 }),
  fc.array(wrongType(isString), { minLength: 1, maxLength: 3 }),
);

const badMetadata = fc.oneof(
  wrongType(isObject),
  fc.constant({ "": 1 }),
  fc.string({ minLength: 65, maxLength: 100 }).map((k) => ({ [k]: 1 })),
  fc
    .integer({ min: 33, max: 60 })
    .map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]))),
  huge(4097).map((blob) => ({ blob })),
  deep(64).map((nested) => ({ nested })),
  deep(64),
);

const badExpiry = fc.oneof(
  wrongType(isStringOrNull),
  fc.string().filter((s) => !/^\d{4}-/.test(s)),
  fc.integer({ min: 0, max: Date.parse("2020-01-01T00:00:00Z") }).map((ms) => new Date(ms).toISOString()),
  fc.constantFrom(
    "2030-13-01T00:00:00Z",
    "2030-02-30T00:00:00Z",
    "2030-01-01",
    "2030-01-01T00:00:00",
    "2030-01-01T24:00:00Z",
    "2030-01-01T00:00:00+25:00",
    "+275760-09-13T00:00:00Z",
  ),
);

const TEN_YEARS = 10 * 365 * 86400;
const THIRTY_DAYS = 30 * 86400;

interface RouteSpec {
  name: string;
  method: "POST" | "PATCH";
  path: string;
  /** A valid body; every generated body breaks it. */
  base: Record<string, unknown>;
  /** For each field the route knows: values it must refuse. */
  fields: Record<string, fc.Arbitrary<unknown>>;
}

const ROUTES: RouteSpec[] = [
  {
    name: "POST /projects",
    method: "POST",
    path: "/projects",
    base: { name: "fuzz" },
    fields: { name: badName, description: badText(1000, true) },
  },
  {
    name: "PATCH /projects/{id}",
    method: "PATCH",
    path: "/projects/{project}",
    base: { description: "fuzz" },
    fields: { name: badName, description: badText(1000, true) },
  },
  {
    name: "POST /projects/{id}/keys",
    method: "POST",
    path: "/projects/{project}/keys",
    base: { name: "fuzz" },
    fields: {
      name: badName,
      environment: badEnum(["live", "test"]),
      permissions: badPermissions,
      allowed_models: badModels,
      allowed_ips: badIps,
      metadata: badMetadata,
      expires_at: badExpiry,
      ttl_seconds: badNumber((n) => Number.isInteger(n) && n >= 60 && n <= TEN_YEARS),
    },
  },
  {
    name: "PATCH /keys/{id}",
    method: "PATCH",
    path: "/keys/{key}",
    base: { name: "fuzz" },
    fields: {
      name: badName,
      permissions: badPermissions,
      allowed_models: badModels,
      allowed_ips: badIps,
      metadata: badMetadata,
      expires_at: badExpiry,
    },
  },
  {
    name: "POST /keys/{id}/rotate",
    method: "POST",
    path: "/keys/{key}/rotate",
    base: {},
    fields: { grace_seconds: badNumber((n) => Number.isInteger(n) && n >= 0 && n <= THIRTY_DAYS) },
  },
  {
    name: "POST /keys/{id}/revoke",
    method: "POST",
    path: "/keys/{revokeTarget}/revoke",
    base: {},
    fields: { reason: badText(500) },
  },
  {
    name: "POST /keys/verify",
    method: "POST",
    path: "/keys/verify",
    base: { key: "kw_live_fuzz" },
    fields: {
      key: fc.oneof(wrongType(isString), huge(257)),
      resource: badEnum(RESOURCES),
      access: badEnum(["read", "write"]),
      model: fc.oneof(wrongType(isString), fc.constant(""), huge(257)),
      ip: fc.oneof(
        wrongType(isString),
        fc.string().filter((s) => isIP(s) === 0),
        huge(65),
      ),
    },
  },
  {
    name: "POST /admin-keys",
    method: "POST",
    path: "/admin-keys",
    base: { name: "fuzz", role: "reader" },
    fields: { name: badName, role: badEnum(ROLES) },
  },
];

interface BadBody {
  kind: string;
  bytes: Uint8Array;
  contentType: string | null;
}

const JSON_TYPES = ["application/json", "application/json; charset=utf-8", "application/merge-patch+json"];
const OTHER_TYPES = [
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/xml",
  "",
];

const JUNK = [
  "{",
  "}",
  '{"a":}',
  "[1,]",
  "NaN",
  "Infinity",
  "undefined",
  "{'a':1}",
  "\u0000",
  "\ufeff",
  "{}{}",
  '{"a":1',
  "nul",
  "tru",
];

/** Bodies `route` must refuse: not JSON, not an object, an unknown field, a bad field, a wrong media type. */
function badBodies(route: RouteSpec): fc.Arbitrary<BadBody> {
  const known = Object.keys(route.fields);
  const jsonBody = (kind: string) => (value: unknown) => ({ kind, value });
  const asJson = fc.constantFrom(...JSON_TYPES);
  const structured = fc
    .oneof(
      json.filter((v) => !isObject(v)).map(jsonBody("not an object")),
      fc
        .tuple(
          fc.record(route.fields, { requiredKeys: [] }),
          fc.uniqueArray(fc.tuple(fc.oneof(unknownKey(known), fc.constant("__proto__")), anyValue), {
            minLength: 1,
            maxLength: 3,
            selector: ([k]) => k,
          }),
        )
        .map(([bad, extra]) => ({ ...route.base, ...bad, ...Object.fromEntries(extra) }))
        .map(jsonBody("unknown field")),
      fc
        .tuple(
          fc.constantFrom(...known).chain((k) => route.fields[k]!.map((v) => [k, v] as const)),
          fc.record(route.fields, { requiredKeys: [] }),
        )
        .map(([[k, v], more]) => ({ ...route.base, ...more, [k]: v }))
        .map(jsonBody("bad field")),
    )
    .chain(({ kind, value }) =>
      asJson.map((contentType): BadBody => ({ kind, bytes: utf8(toJsonText(value)), contentType })),
    );
  const notJson = fc
    .oneof(
      fc.string({ unit: "binary", minLength: 1, maxLength: 300 }).map(utf8),
      fc.constantFrom(...JUNK).map(utf8),
      fc.uint8Array({ minLength: 1, maxLength: 300 }),
    )
    .filter((bytes) => !decodesToObject(bytes))
    .chain((bytes) =>
      asJson.map((contentType): BadBody => ({ kind: "raw text or bytes", bytes, contentType })),
    );
  const wrongMediaType = fc
    .tuple(
      fc.oneof(fc.constantFrom(...OTHER_TYPES), fc.constant(null)),
      fc.oneof(fc.constant(route.base), json),
    )
    .map(([contentType, value]): BadBody => ({
      kind: "wrong media type",
      bytes: utf8(JSON.stringify(value)),
      contentType,
    }));
  return fc.oneof(
    { arbitrary: structured, weight: 6 },
    { arbitrary: notJson, weight: 2 },
    { arbitrary: wrongMediaType, weight: 1 },
  );
}

// ---------------------------------------------------------------------------------------------

describe.each(testDialects())("bad input to the management API (%s)", (dialect) => {
  let t: TestServer;
  let f: Fixture;
  beforeAll(async () => {
    t = await startTestServer(dialect, { logLevel: "info" });
    f = await createFixture(t);
  });
  afterAll(async () => {
    // Nothing above may have reached the catch-all 500 handler.
    if (t) expect(t.logs.text).not.toContain("unhandled error");
    await t?.stop();
  });

  it.each(CASES)("$name → $status $code", async (c) => {
    const before = await storeState(t);
    const { request = {} } = c;
    const headers = Object.fromEntries(
      Object.entries(request.headers ?? {}).map(([k, v]) => [k, fill(v, f)]),
    );
    const reply = await send(t, c.method, fill(c.path, f), {
      ...request,
      headers,
      adminKey: adminKeyFor(c.as, t, f),
    });
    expectError(reply, c);
    expect(await storeState(t)).toEqual(before);
  });

  it("a body over the limit sent in chunks (no Content-Length) is refused with 413", async () => {
    const before = await auditCount(t);
    const chunk = utf8(`"${"a".repeat(1024)}",`);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(utf8('{"name":"x","description":['));
        if (sent > MAX_BODY_BYTES * 2) {
          controller.enqueue(utf8('""]}'));
          controller.close();
          return;
        }
        controller.enqueue(chunk);
        sent += chunk.length;
      },
    });
    const init: RequestInit & { duplex: "half" } = {
      method: "POST",
      headers: { authorization: `Bearer ${t.ownerKey}`, "content-type": "application/json" },
      body,
      duplex: "half",
    };
    const res = await fetch(`${t.url}${API}/projects`, init);
    expectError(
      {
        status: res.status,
        requestId: res.headers.get("x-request-id"),
        contentType: res.headers.get("content-type"),
        text: await res.text(),
      },
      { status: 413, code: "payload_too_large" },
    );
    expect(await auditCount(t)).toBe(before);
  });

  it("a 413 closes its connection and says so: a keep-alive client's next requests still work", async () => {
    const res = await fetch(`${t.url}${API}/keys/verify`, {
      method: "POST",
      headers: { authorization: `Bearer ${t.ownerKey}`, "content-type": "application/json" },
      body: utf8(JSON.stringify({ key: "x".repeat(1_000_000) })),
    });
    expect(res.status).toBe(413);
    expect(res.headers.get("connection")).toBe("close");
    await res.text();
    // Past @hono/node-server's 500 ms deadline for draining an unread body, after which it
    // drops the socket: a connection that was announced as keep-alive would fail here.
    await new Promise((resolve) => setTimeout(resolve, 700));
    for (let i = 0; i < 3; i++) expect((await send(t, "GET", "/me")).status).toBe(200);
  });

  it("an unknown route outside the API and the console is a 404 in the same envelope", async () => {
    // GET of any other path is a console page (the browser routes it); anything else is not.
    expectError(await sendTo(t, "POST", "/nope"), { status: 404, code: "not_found" });
    expectError(await sendTo(t, "GET", "/api/nope"), { status: 404, code: "not_found" });
  });

  it("echoes a client's X-Request-Id in the envelope", async () => {
    const reply = await send(t, "GET", "/keys/nope", { headers: { "x-request-id": "req-1234.abc" } });
    expect(expectError(reply, { status: 400, code: "invalid_id" }).error.request_id).toBe("req-1234.abc");
    // An id that is not safe to echo is replaced, not reflected.
    const odd = await send(t, "GET", "/keys/nope", { headers: { "x-request-id": "<script>" } });
    expect(expectError(odd, { status: 400, code: "invalid_id" }).error.request_id).not.toContain("<");
    // So is a key pasted into the header: it is neither echoed nor logged.
    const pasted = `sk-proj-${"a1B2".repeat(6)}T3BlbkFJ${"c3D4".repeat(6)}`;
    const leaked = await send(t, "GET", "/keys/nope", { headers: { "x-request-id": pasted } });
    expect(expectError(leaked, { status: 400, code: "invalid_id" }).error.request_id).not.toBe(pasted);
    expect(t.logs.text).not.toContain(pasted);
  });

  describe("fuzzed bodies", () => {
    const seen = new Map<string, number>();
    afterAll(() => {
      // The generators must actually reach every kind of bad body.
      for (const kind of [
        "not an object",
        "unknown field",
        "bad field",
        "raw text or bytes",
        "wrong media type",
      ])
        expect(seen.get(kind) ?? 0, kind).toBeGreaterThan(0);
    });

    it.each(ROUTES)("$name: never 2xx, never 5xx, always the envelope, nothing changes", async (route) => {
      const before = await storeState(t);
      const path = API + fill(route.path, f);
      await fc.assert(
        fc.asyncProperty(badBodies(route), async (b) => {
          seen.set(b.kind, (seen.get(b.kind) ?? 0) + 1);
          const reply = await sendTo(t, route.method, path, { raw: b.bytes, contentType: b.contentType });
          const context = `${b.kind}: ${reply.status} ${reply.text.slice(0, 200)}`;
          expect(reply.status, context).toBeGreaterThanOrEqual(400);
          expect(reply.status, context).toBeLessThan(500);
          expectEnvelope(reply);
        }),
        { numRuns: RUNS_PER_ROUTE },
      );
      const after = await storeState(t);
      expect(after.auditEntries, "audit entries written by refused requests").toBe(before.auditEntries);
      expect(after).toEqual(before);
    });
  });
});
