import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Browser, tokenOf } from "../support/browser.js";
import { startTestServer, testDialects, type TestServer } from "../support/harness.js";

/**
 * Principle 1: a secret is never stored, logged or returned after creation in plaintext.
 * Creates 1,000 keys (plus rotations and admin keys), then scans the raw database files
 * (SQLite main file and WAL) or a pg_dump, and every log line at debug level.
 */
describe.each(testDialects())("no secret at rest or in logs (%s)", (dialect) => {
  let t: TestServer;
  const secrets: string[] = [];

  beforeAll(async () => {
    t = await startTestServer(dialect, { logLevel: "trace" });
    secrets.push(t.ownerKey);
    const project = await t.client.createProject({ name: "scan" });
    for (let batch = 0; batch < 20; batch++) {
      const created = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          t.client.createKey(project.id, { name: `k${batch}-${i}`, metadata: { batch } }),
        ),
      );
      secrets.push(...created.map((c) => c.key));
    }
    const list = await t.client.listKeys({ project_id: project.id, limit: 10 });
    for (const k of list.data) {
      const rotated = await t.client.rotateKey(k.id, 60, `rotate-${k.id}-idempotency`);
      secrets.push(rotated.key);
    }
    const admin = await t.client.createAdminKey({ name: "ops", role: "admin" });
    secrets.push(admin.key);
    // People: link tokens, passwords and session tokens are secrets too.
    const people = await peopleSecrets(t);
    secrets.push(...people);
    // Exercise verify (valid, wrong checksum) so those paths log too.
    for (const s of secrets.slice(0, 20)) {
      await t.client.verifyKey({ key: s });
      await t.client.verifyKey({ key: s.slice(0, -1) + (s.endsWith("A") ? "B" : "A") });
    }
    await t.ctx.lastUsed.flush();
  }, 120_000);
  afterAll(async () => t?.stop());

  it("created more than 1,000 distinct secrets", () => {
    expect(secrets.filter((s) => !s.startsWith("kw_")).length).toBeGreaterThanOrEqual(9);
    expect(new Set(secrets).size).toBe(secrets.length);
    expect(secrets.length).toBeGreaterThan(1000);
  });

  it("the database holds none of them, not even the random body", async () => {
    let dump: Buffer;
    if (dialect === "sqlite") {
      const file = path.join(t.store.dataDir, "keyward.db");
      const parts = [readFileSync(file)];
      if (existsSync(file + "-wal")) parts.push(readFileSync(file + "-wal"));
      dump = Buffer.concat(parts);
      expect(dump.length).toBeGreaterThan(100_000);
    } else {
      dump = execFileSync("pg_dump", ["--no-owner", "-n", t.store.pgSchema!, t.store.databaseUrl!], {
        maxBuffer: 1 << 28,
      });
      expect(dump.toString("utf8")).toContain("key_secrets");
    }
    const found = secrets.filter(
      (s) => dump.includes(s) || (s.startsWith("kw_") && dump.includes(s.slice(-38, -6))),
    );
    expect(found).toEqual([]);
    // The scan is real: what *is* stored (the SHA-256 of each key) is found in the same bytes.
    const hashes = secrets.slice(1, 1001).map((s) => createHash("sha256").update(s).digest("hex"));
    expect(hashes.filter((h) => dump.includes(h)).length).toBe(1000);
  });

  it("no log line contains a secret, even at trace level", () => {
    expect(t.logs.lines.length).toBeGreaterThan(1000);
    const text = t.logs.text;
    const found = secrets.filter(
      (s) => text.includes(s) || (s.startsWith("kw_") && text.includes(s.slice(-38, -6))),
    );
    expect(found).toEqual([]);
  });

  it("no audit entry contains a secret", async () => {
    const entries = await t.client.exportAudit("json");
    // The export streams every entry, oldest first, across page boundaries.
    const parsed = JSON.parse(entries) as Array<{ seq: number }>;
    expect(parsed.length).toBeGreaterThan(1000);
    expect(parsed.map((e) => e.seq)).toEqual(parsed.map((_, i) => i + 1));
    const csv = await t.client.exportAudit("csv");
    expect(csv.trimEnd().split("\r\n")).toHaveLength(parsed.length + 1);
    const found = secrets.filter((s) => entries.includes(s.startsWith("kw_") ? s.slice(-38, -6) : s));
    expect(found).toEqual([]);
  });
});

/** Signs three people in through links; returns every link token, password and session token. */
async function peopleSecrets(t: TestServer): Promise<string[]> {
  const out: string[] = [];
  const setup = (await t.ctx.invitations.setupLink("first@example.com"))!;
  const owner = new Browser(t.url);
  await owner.accept(setup.invite_url, { display_name: "First", password: "first owner passphrase" });
  out.push(tokenOf(setup.invite_url), "first owner passphrase", owner.cookie!);
  for (const who of ["second", "third"]) {
    const inv = await owner.post<{ invite_url: string }>("/users/invitations", {
      email: `${who}@example.com`,
      role: "reader",
    });
    const b = new Browser(t.url);
    await b.accept(inv.body.invite_url, { display_name: who, password: `${who} secret passphrase` });
    await b.login(`${who}@example.com`, `${who} secret passphrase`);
    out.push(tokenOf(inv.body.invite_url), `${who} secret passphrase`, b.cookie!);
  }
  return out;
}
