import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createContext } from "../../src/app/context.js";
import { KeywardClient } from "../../src/client/client.js";
import { ConfigError, loadConfig, type ConfigInput } from "../../src/config/config.js";
import { masterKeyId, MASTER_KEY_FILE } from "../../src/crypto/master-key.js";
import { SecretBox } from "../../src/crypto/secret-box.js";
import { createLogger } from "../../src/log/logger.js";
import { LogCapture, startTestServer, testDialects, type TestServer } from "../support/harness.js";
import type { UpstreamView } from "../../src/upstreams/model.js";

/**
 * Upstream credentials over HTTP: CRUD, masking everywhere, encryption at rest (raw DB files,
 * pg_dump, logs, audit), the in-memory directory the gateway reads, tampering, and master key
 * rotation. SQLite uses the generated key file; PostgreSQL a configured KEYWARD_MASTER_KEY.
 */
describe.each(testDialects())("upstream credentials (%s)", (dialect) => {
  let t: TestServer;
  let reader: KeywardClient;
  let projectA: string;
  let projectB: string;
  let projectC: string;
  /** Every provider key sent to the server: none may appear at rest, in logs or responses. */
  const rawKeys: string[] = [];
  const newKey = () => {
    const k = `sk-proj-${randomBytes(30).toString("base64url")}`;
    rawKeys.push(k);
    return k;
  };
  const DEFAULT_KEY = newKey();
  /** The master key the server starts with (base64), read back from the key file on SQLite. */
  let oldMasterKey: string;
  /** Every response body, to scan for keys. */
  const bodies: string[] = [];

  const raw = async (method: string, p: string, body?: unknown, key = t.ownerKey) => {
    const res = await fetch(`${t.url}/api/v1${p}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    bodies.push(text);
    return { status: res.status, text, json: (text ? JSON.parse(text) : null) as Record<string, unknown> };
  };

  const storeConfig = (extra: Partial<ConfigInput>) =>
    loadConfig(
      {},
      {
        dataDir: t.store.dataDir,
        logLevel: "trace",
        ...(t.store.databaseUrl ? { databaseUrl: t.store.databaseUrl } : {}),
        ...extra,
      },
    );
  const openContext = (extra: Partial<ConfigInput>, logs = new LogCapture()) =>
    createContext(
      storeConfig(extra),
      createLogger("trace", logs),
      t.store.pgSchema ? { pgSchema: t.store.pgSchema } : {},
    );

  beforeAll(async () => {
    const configured = dialect === "postgres" ? randomBytes(32).toString("base64") : undefined;
    t = await startTestServer(dialect, {
      logLevel: "trace",
      config: {
        upstreamApiKey: DEFAULT_KEY,
        upstreamBaseUrl: "http://127.0.0.1:9/default/v1/",
        ...(configured ? { masterKey: configured } : {}),
      },
    });
    oldMasterKey = configured ?? readFileSync(path.join(t.store.dataDir, MASTER_KEY_FILE), "utf8").trim();
    projectA = (await t.client.createProject({ name: "alpha" })).id;
    projectB = (await t.client.createProject({ name: "beta" })).id;
    projectC = (await t.client.createProject({ name: "gamma" })).id;
    const r = await t.client.createAdminKey({ name: "reader", role: "reader" });
    reader = new KeywardClient(t.url, r.key);
  });
  afterAll(async () => t?.stop());

  it("uses the generated key file only on the embedded default, and warns about it", () => {
    if (dialect === "sqlite") {
      expect(t.ctx.masterKeys.source).toBe("file");
      expect(t.logs.text).toMatch(/master key stored beside the data/);
    } else {
      expect(t.ctx.masterKeys.source).toBe("config");
      expect(existsSync(path.join(t.store.dataDir, MASTER_KEY_FILE))).toBe(false);
    }
  });

  let first: UpstreamView;
  let firstKey: string;

  it("creates an upstream: 201, key masked, base URL normalized", async () => {
    firstKey = newKey();
    const res = await raw("POST", `/projects/${projectA}/upstreams`, {
      name: "openai-prod",
      base_url: "https://api.openai.com/v1/",
      api_key: firstKey,
      organization: "org-123",
      project: "proj_abc",
    });
    expect(res.status).toBe(201);
    first = res.json as unknown as UpstreamView;
    expect(first).toMatchObject({
      object: "upstream",
      project_id: projectA,
      name: "openai-prod",
      base_url: "https://api.openai.com/v1",
      masked_api_key: `sk-…${firstKey.slice(-4)}`,
      organization: "org-123",
      project: "proj_abc",
      priority: 0,
    });
    expect(first.id).toMatch(/^ups_[0-9A-Z]{26}$/);
    expect(Object.keys(first)).not.toContain("api_key");
    expect(res.text).not.toContain(firstKey);
  });

  it("the directory serves the decrypted upstream at once, and the default elsewhere", () => {
    expect(t.ctx.upstreamDirectory.forProject(projectA)).toEqual({
      id: first.id,
      baseUrl: "https://api.openai.com/v1",
      apiKey: firstKey,
      organization: "org-123",
      project: "proj_abc",
    });
    expect(t.ctx.upstreamDirectory.forProject(projectB)).toEqual({
      id: null,
      baseUrl: "http://127.0.0.1:9/default/v1",
      apiKey: DEFAULT_KEY,
      organization: null,
      project: null,
    });
  });

  it("lists (preferred first) and gets, masked, for readers too", async () => {
    const backupKey = newKey();
    const backup = await t.client.createUpstream(projectA, {
      name: "backup",
      base_url: "http://127.0.0.1:8000",
      api_key: backupKey,
      priority: 5,
    });
    const preferred = await t.client.createUpstream(projectB, {
      name: "b-main",
      base_url: "https://example.test/openai/v1",
      api_key: newKey(),
      priority: 1,
    });
    const list = await reader.listUpstreams(projectA);
    expect(list.object).toBe("list");
    expect(list.data.map((u) => u.id)).toEqual([first.id, backup.id]);
    expect((await reader.getUpstream(backup.id)).masked_api_key).toBe(`sk-…${backupKey.slice(-4)}`);
    expect((await reader.listUpstreams(projectC)).data).toEqual([]);
    // The priority-0 upstream still wins in A; B now has its own.
    expect(t.ctx.upstreamDirectory.forProject(projectA)?.id).toBe(first.id);
    expect(t.ctx.upstreamDirectory.forProject(projectB)?.id).toBe(preferred.id);
    const text = JSON.stringify(list) + bodies.join("\n");
    expect(rawKeys.filter((k) => text.includes(k))).toEqual([]);
  });

  it("updates name, headers, priority and key; the directory follows immediately", async () => {
    const replacement = newKey();
    const u = await t.client.updateUpstream(first.id, {
      name: "openai-main",
      api_key: replacement,
      organization: null,
      priority: 10,
    });
    expect(u).toMatchObject({ name: "openai-main", organization: null, project: "proj_abc", priority: 10 });
    expect(u.masked_api_key).toBe(`sk-…${replacement.slice(-4)}`);
    // Priority 10 now loses to "backup" (5).
    const backup = (await t.client.listUpstreams(projectA)).data[0]!;
    expect(backup.name).toBe("backup");
    expect(t.ctx.upstreamDirectory.forProject(projectA)?.id).toBe(backup.id);
    await t.client.updateUpstream(first.id, { priority: 0 });
    expect(t.ctx.upstreamDirectory.forProject(projectA)).toMatchObject({ id: first.id, apiKey: replacement });
    firstKey = replacement;
  });

  it("deleting falls back to the next upstream, then to the default", async () => {
    const tmp = await t.client.createUpstream(projectC, {
      name: "temp",
      base_url: "https://c.example/v1",
      api_key: newKey(),
    });
    expect(t.ctx.upstreamDirectory.forProject(projectC)?.id).toBe(tmp.id);
    const res = await raw("DELETE", `/upstreams/${tmp.id}`);
    expect(res.status).toBe(204);
    expect(t.ctx.upstreamDirectory.forProject(projectC)?.id).toBeNull();
    await expect(t.client.getUpstream(tmp.id)).rejects.toMatchObject({ status: 404, code: "not_found" });
  });

  it("audits create/update/delete with the key only as its masked hint", async () => {
    const entries = (await t.client.listAudit({ limit: 1000 })).data.filter((e) =>
      e.action.startsWith("upstream."),
    );
    const actions = entries.map((e) => e.action);
    expect(actions).toContain("upstream.created");
    expect(actions).toContain("upstream.updated");
    expect(actions).toContain("upstream.deleted");
    const created = entries.find((e) => e.action === "upstream.created" && e.target_id === first.id)!;
    expect(created).toMatchObject({ target_type: "upstream", project_id: projectA });
    expect(created.changes).toMatchObject({
      after: {
        name: "openai-prod",
        base_url: "https://api.openai.com/v1",
        organization: "org-123",
        priority: 0,
      },
    });
    expect((created.changes.after as Record<string, unknown>).masked_api_key).toMatch(/^sk-…/);
    const keyChange = entries.find(
      (e) =>
        e.action === "upstream.updated" && (e.changes as { api_key_replaced?: boolean }).api_key_replaced,
    )!;
    expect(keyChange.changes).toMatchObject({
      before: { name: "openai-prod", organization: "org-123", priority: 0 },
      after: { name: "openai-main", organization: null, priority: 10 },
    });
    const exported = await t.client.exportAudit("json");
    expect(rawKeys.filter((k) => exported.includes(k) || exported.includes(k.slice(8, 40)))).toEqual([]);
    expect(exported).not.toContain("api_key_cipher");
  });

  it("bad input gets a specific 4xx envelope, never echoes the key, and changes nothing", async () => {
    const before = (await t.client.listUpstreams(projectA)).data;
    const secretish = newKey();
    const cases: Array<[string, string, unknown, number, string, RegExp?]> = [
      [
        "POST",
        `/projects/${projectA}/upstreams`,
        { name: "x", base_url: "ftp://h/v1", api_key: secretish },
        400,
        "invalid_request",
        /http or https/,
      ],
      [
        "POST",
        `/projects/${projectA}/upstreams`,
        { name: "x", base_url: `https://u:${secretish}@h/v1`, api_key: "k" },
        400,
        "invalid_request",
        /credentials/,
      ],
      [
        "POST",
        `/projects/${projectA}/upstreams`,
        { name: "x", base_url: "https://h/v1?k=1", api_key: "k" },
        400,
        "invalid_request",
        /query/,
      ],
      [
        "POST",
        `/projects/${projectA}/upstreams`,
        { name: "x", base_url: "https://h/v1", api_key: `${secretish}\r\nx: 1` },
        400,
        "invalid_request",
        /api_key/,
      ],
      [
        "POST",
        `/projects/${projectA}/upstreams`,
        { name: "x", base_url: "https://h/v1", api_key: "" },
        400,
        "invalid_request",
        /api_key/,
      ],
      [
        "POST",
        `/projects/${projectA}/upstreams`,
        { name: "x", base_url: "https://h/v1" },
        400,
        "invalid_request",
        /api_key/,
      ],
      [
        "POST",
        `/projects/${projectA}/upstreams`,
        { name: "x", base_url: "https://h/v1", api_key: secretish, extra: 1 },
        400,
        "invalid_request",
        /unknown field/,
      ],
      [
        "POST",
        `/projects/${projectA}/upstreams`,
        { name: "x", base_url: "https://h/v1", api_key: secretish, priority: -1 },
        400,
        "invalid_request",
        /priority/,
      ],
      [
        "POST",
        `/projects/${projectA}/upstreams`,
        { name: "x", base_url: "https://h/v1", api_key: secretish, organization: "a b" },
        400,
        "invalid_request",
        /organization/,
      ],
      [
        "POST",
        `/projects/${projectA}/upstreams`,
        `{"name":"x","api_key":"${secretish}"`,
        400,
        "invalid_json",
      ],
      [
        "POST",
        `/projects/${projectA}/upstreams`,
        { name: "backup", base_url: "https://h/v1", api_key: secretish },
        409,
        "conflict",
      ],
      [
        "POST",
        `/projects/proj_00000000000000000000000000/upstreams`,
        { name: "x", base_url: "https://h/v1", api_key: secretish },
        404,
        "not_found",
      ],
      [
        "POST",
        `/projects/nope/upstreams`,
        { name: "x", base_url: "https://h/v1", api_key: secretish },
        400,
        "invalid_id",
      ],
      ["GET", `/upstreams/ups_00000000000000000000000000`, undefined, 404, "not_found"],
      ["GET", `/upstreams/key_00000000000000000000000000`, undefined, 400, "invalid_id"],
      ["GET", `/projects/proj_00000000000000000000000000/upstreams`, undefined, 404, "not_found"],
      ["PATCH", `/upstreams/${first.id}`, {}, 400, "invalid_request", /nothing to update/],
      [
        "PATCH",
        `/upstreams/${first.id}`,
        { base_url: "https://h/v1#frag" },
        400,
        "invalid_request",
        /fragment/,
      ],
      ["PATCH", `/upstreams/${first.id}`, { name: "backup" }, 409, "conflict"],
      ["PATCH", `/upstreams/${first.id}`, { project_id: projectB }, 400, "invalid_request", /unknown field/],
      ["DELETE", `/upstreams/ups_00000000000000000000000000`, undefined, 404, "not_found"],
    ];
    for (const [method, p, body, status, code, message] of cases) {
      const res = await raw(method, p, body);
      expect({ p, body, status: res.status }).toEqual({ p, body, status });
      const err = (res.json as { error: { code: string; message: string; request_id: string } }).error;
      expect(err.code).toBe(code);
      expect(err.request_id).toBeTruthy();
      if (message) expect(res.text).toMatch(message);
      expect(res.text).not.toContain(secretish);
    }
    const r = await raw(
      "POST",
      `/projects/${projectA}/upstreams`,
      { name: "x", base_url: "https://h/v1", api_key: "k" },
      (await t.client.createAdminKey({ name: "r2", role: "reader" })).key,
    );
    expect(r.status).toBe(403);
    expect((await t.client.listUpstreams(projectA)).data).toEqual(before);
  });

  it("no provider key is in the database files / pg_dump, nor in any log line", async () => {
    let dump: Buffer;
    if (dialect === "sqlite") {
      const file = path.join(t.store.dataDir, "keyward.db");
      const parts = [readFileSync(file)];
      if (existsSync(file + "-wal")) parts.push(readFileSync(file + "-wal"));
      dump = Buffer.concat(parts);
    } else {
      dump = execFileSync("pg_dump", ["--no-owner", "-n", t.store.pgSchema!, t.store.databaseUrl!], {
        maxBuffer: 1 << 28,
      });
    }
    // The scan is real: the masked hints and ciphertext headers are stored in the same bytes.
    expect(dump.includes(`sk-…${firstKey.slice(-4)}`)).toBe(true);
    expect(dump.includes(`v1.${t.ctx.masterKeys.current.id}.`)).toBe(true);
    expect(rawKeys.filter((k) => dump.includes(k) || dump.includes(k.slice(8, 40)))).toEqual([]);
    expect(t.logs.lines.length).toBeGreaterThan(20);
    expect(rawKeys.filter((k) => t.logs.text.includes(k) || t.logs.text.includes(k.slice(8, 40)))).toEqual(
      [],
    );
    expect(t.logs.text).not.toContain(oldMasterKey);
  });

  it("a tampered or swapped ciphertext fails closed with a clear error, never the default", async () => {
    const db = t.ctx.store.db;
    const rows = await db.selectFrom("upstreams").select(["id", "project_id", "api_key_cipher"]).execute();
    const a = rows.find((r) => r.id === first.id)!;
    const b = rows.find((r) => r.project_id === projectB)!;
    const original = a.api_key_cipher;
    try {
      // A ciphertext copied from another row does not open here (bound to its row).
      await db
        .updateTable("upstreams")
        .set({ api_key_cipher: b.api_key_cipher })
        .where("id", "=", a.id)
        .execute();
      await t.ctx.upstreamDirectory.reload();
      expect(t.ctx.upstreamDirectory.forProject(projectA)).toBeNull();
      const line = t.logs.lines.find((l) => l.includes("cannot decrypt") && l.includes(a.id));
      expect(line).toMatch(/altered, or belongs to another record/);
      // A flipped bit: the same.
      const [v, id, data] = original.split(".") as [string, string, string];
      const bytes = Buffer.from(data, "base64");
      bytes[bytes.length - 1]! ^= 1;
      await db
        .updateTable("upstreams")
        .set({ api_key_cipher: `${v}.${id}.${bytes.toString("base64")}` })
        .where("id", "=", a.id)
        .execute();
      await t.ctx.upstreamDirectory.reload();
      expect(t.ctx.upstreamDirectory.forProject(projectA)).toBeNull();
    } finally {
      await db.updateTable("upstreams").set({ api_key_cipher: original }).where("id", "=", a.id).execute();
      await t.ctx.upstreamDirectory.reload();
    }
    expect(t.ctx.upstreamDirectory.forProject(projectA)?.apiKey).toBe(firstKey);
  });

  it("does not start under a master key the credentials were not encrypted with", async () => {
    const wrong = randomBytes(32).toString("hex");
    let err: unknown;
    try {
      const ctx = await openContext({ masterKey: wrong });
      await ctx.close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/encrypted under master key/);
    expect((err as Error).message).toContain(t.ctx.masterKeys.current.id);
    expect((err as Error).message).toMatch(/KEYWARD_MASTER_KEY_PREVIOUS/);
    expect((err as Error).message).not.toContain(wrong);
  });

  it("rotate-master re-encrypts every credential under the new key, audited, atomically", async () => {
    const newMaster = randomBytes(32).toString("base64");
    const newId = masterKeyId(Buffer.from(newMaster, "base64"));
    const ciphers = async () =>
      (
        await t.ctx.store.db.selectFrom("upstreams").select(["id", "api_key_cipher"]).orderBy("id").execute()
      ).map((r) => ({ id: r.id, keyId: SecretBox.keyIdOf(r.api_key_cipher), cipher: r.api_key_cipher }));
    const before = await ciphers();
    expect(before.length).toBeGreaterThanOrEqual(3);
    expect(new Set(before.map((c) => c.keyId))).toEqual(new Set([t.ctx.masterKeys.current.id]));

    // A tampered row makes the whole rotation fail, and nothing changes.
    const victim = before[0]!;
    const broken = victim.cipher.slice(0, -4) + (victim.cipher.endsWith("AAAA") ? "BBBB" : "AAAA");
    await t.ctx.store.db
      .updateTable("upstreams")
      .set({ api_key_cipher: broken })
      .where("id", "=", victim.id)
      .execute();
    const rotating = await openContext({ masterKey: newMaster, masterKeyPrevious: oldMasterKey });
    try {
      await expect(rotating.upstreams.rotateMasterKey()).rejects.toThrow(
        new RegExp(`upstream ${victim.id} cannot be decrypted, nothing was re-encrypted`),
      );
      expect((await ciphers()).filter((c) => c.keyId === newId)).toEqual([]);
      await t.ctx.store.db
        .updateTable("upstreams")
        .set({ api_key_cipher: victim.cipher })
        .where("id", "=", victim.id)
        .execute();

      const r = await rotating.upstreams.rotateMasterKey();
      expect(r).toEqual({
        object: "master_key_rotation",
        key_id: newId,
        total: before.length,
        rotated: before.length,
        from_key_ids: [t.ctx.masterKeys.current.id],
      });
      // Running it again is a no-op.
      expect(await rotating.upstreams.rotateMasterKey()).toMatchObject({ rotated: 0, total: before.length });
    } finally {
      await rotating.close();
    }
    const after = await ciphers();
    expect(after.map((c) => c.keyId)).toEqual(after.map(() => newId));
    expect(after.every((c, i) => c.cipher !== before[i]!.cipher)).toBe(true);

    // Only the new key is needed now; the old one alone no longer starts.
    const fresh = await openContext({ masterKey: newMaster });
    try {
      expect(fresh.upstreamDirectory.forProject(projectA)).toMatchObject({ id: first.id, apiKey: firstKey });
    } finally {
      await fresh.close();
    }
    await expect(openContext({ masterKey: oldMasterKey })).rejects.toThrow(/encrypted under master key/);

    const audit = (await t.client.listAudit({ action: "upstream.master_key_rotated" })).data;
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actor_id: "system",
      target_type: "master_key",
      target_id: newId,
      changes: {
        before: { key_ids: [t.ctx.masterKeys.current.id] },
        after: { key_id: newId },
        rotated: before.length,
      },
    });
    expect((await t.client.verifyAudit()).ok).toBe(true);
  });
});
