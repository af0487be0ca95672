import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError, KeywardClient } from "../../src/client/client.js";
import { startTestServer, testDialects, type TestServer } from "../support/harness.js";

interface Listed {
  id: string;
  name: string;
  status: string;
  masked_key: string;
}

/**
 * The keys list's search, sort and cursor (what the console's Keys page sends): every page of
 * every order is checked against the order computed here, on both stores, so a page boundary
 * can neither skip nor repeat a key, and SQLite and PostgreSQL sort names the same way.
 */
describe.each(testDialects())("key list: search, sort, cursor (%s)", (dialect) => {
  let t: TestServer;
  let projectId: string;
  let otherKeyId: string;
  const made: Listed[] = [];
  // Mixed case, punctuation (which locales order differently from byte order), LIKE wildcards,
  // and equal names (ties broken by id).
  const NAMES = [
    "billing-api",
    "Billing-worker",
    "billingapi",
    "billing_api",
    "billing api",
    "BILLING-cron",
    "search-indexer",
    "Search-Indexer",
    "quota-100%",
    "quota-1000",
    "a_b",
    "axb",
    "zeta",
    "Zeta",
    "alpha",
    "alpha",
    "alpha",
    "Ω-omega",
    "_under",
    "-dash",
    "0-zero",
    "9-nine",
  ];

  beforeAll(async () => {
    t = await startTestServer(dialect);
    projectId = (await t.client.createProject({ name: "big" })).id;
    const other = (await t.client.createProject({ name: "other" })).id;
    otherKeyId = (await t.client.createKey(other, { name: "billing-elsewhere" })).id;
    for (const name of NAMES) {
      const k = await t.client.createKey(projectId, { name });
      made.push({ id: k.id, name, status: "active", masked_key: k.masked_key });
    }
    for (const k of made.filter((_, i) => i % 4 === 1)) {
      await t.client.revokeKey(k.id, "test");
      k.status = "revoked";
    }
  }, 60_000);
  afterAll(async () => t?.stop());

  /** Every page, `limit` at a time, following next_cursor, exactly as the console's "Load more". */
  async function all(query: Record<string, string>, limit = 4): Promise<Listed[]> {
    const out: Listed[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 100; pages++) {
      const page = await t.client.listKeys({
        project_id: projectId,
        limit,
        ...query,
        ...(after ? { after } : {}),
      });
      out.push(...(page.data as Listed[]));
      if (!page.has_more) return out;
      after = page.next_cursor;
    }
    throw new Error("more than 100 pages");
  }

  const byId = (a: Listed, b: Listed) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  // Case-insensitive, then code point order (what both stores are asked for), then id.
  const byName = (a: Listed, b: Listed) => {
    const x = a.name.toLowerCase();
    const y = b.name.toLowerCase();
    return x < y ? -1 : x > y ? 1 : byId(a, b);
  };
  const ids = (ks: Listed[]) => ks.map((k) => k.id);
  const asciiOnly = (ks: Listed[]) => ks.filter((k) => /^[\x20-\x7e]*$/.test(k.name));

  it("without sort or search answers as before: oldest first, every key once", async () => {
    expect(ids(await all({}))).toEqual(ids([...made].sort(byId)));
  });

  it("sorts newest first", async () => {
    expect(ids(await all({ sort: "-created" }))).toEqual(ids([...made].sort(byId).reverse()));
  });

  it("sorts by name A–Z and Z–A, ties by id, the same on both stores, across page boundaries", async () => {
    // Non-ASCII names are left out of the exact comparison: SQLite's lower() folds ASCII only.
    const az = await all({ sort: "name" });
    expect(ids(asciiOnly(az))).toEqual(ids(asciiOnly([...made].sort(byName))));
    expect(new Set(ids(az)).size).toBe(made.length);
    const za = await all({ sort: "-name" }, 3);
    expect(ids(za)).toEqual(ids(az).reverse());
  });

  it("searches name and masked key, case-insensitively, with % and _ taken literally", async () => {
    const named = (q: string) =>
      made.filter((k) => `${k.name}\n${k.masked_key}`.toLowerCase().includes(q.toLowerCase()));
    for (const q of ["billing", "BILLING-", "indexer", "100%", "a_b", "_", "alpha", "kw_TEST_", "live"])
      expect(ids(await all({ q })), q).toEqual(ids(named(q).sort(byId)));
    const one = made[7]!;
    const tail = one.masked_key.slice(-4);
    expect(ids(await all({ q: tail }))).toContain(one.id);
    expect(await all({ q: "no-such-key-name" })).toEqual([]);
  });

  it("combines search, status and sort, and pages through the combination", async () => {
    const got = await all({ q: "billing", status: "active", sort: "-name" }, 2);
    const want = made.filter((k) => k.name.toLowerCase().includes("billing") && k.status === "active");
    expect(ids(got)).toEqual(ids(want.sort(byName).reverse()));
    expect(got.every((k) => k.status === "active")).toBe(true);
  });

  it("names each key's creator in the list and the key itself, and keeps the id of one deleted", async () => {
    // In the other project, so that the big one's keys stay what the other tests expect.
    const other = (await t.client.getKey(otherKeyId)).project_id;
    const ops = await t.client.createAdminKey({ name: "deploy bot", role: "admin" });
    const viaBot = await new KeywardClient(t.url, ops.key).createKey(other, { name: "made-by-bot" });
    const page = await t.client.listKeys({ project_id: other, q: "made-by-bot" });
    expect(page.data.map((k) => [k.created_by, k.created_by_name])).toEqual([[ops.id, "deploy bot"]]);
    // Keys made at set-up came from the owner key that `init` created, named "owner".
    const first = await t.client.getKey(made[0]!.id);
    expect(first.created_by_name).toBe("owner");
    // The audit log names the same actor, by its current name.
    const audit = await t.client.listAudit({ actor_id: ops.id });
    expect(audit.data.map((e) => [e.action, e.actor_name])).toEqual([["key.created", "deploy bot"]]);
    // A creator whose row is gone: the list still answers, with the bare id and no name.
    await t.ctx.store.db.deleteFrom("admin_keys").where("id", "=", ops.id).execute();
    expect((await t.client.getKey(viaBot.id)).created_by_name).toBeNull();
  });

  it("filters by rotation deadline and by budget over every key (the Overview's panels)", async () => {
    const p = (await t.client.createProject({ name: "policy" })).id;
    await t.client.updateProject(p, { rotation_max_age_days: 1 });
    const plain = await t.client.createKey(p, { name: "plain" });
    const budgeted = await t.client.createKey(p, {
      name: "budgeted",
      limits: { rpm: 10, budget: { usd: 5, period: "month", timezone: "UTC" } },
    });
    const rpmOnly = await t.client.createKey(p, { name: "rpm-only", limits: { rpm: 10 } });
    const names = async (query: Record<string, string>) =>
      (await t.client.listKeys({ project_id: p, ...query })).data.map((k) => k.name).sort();
    const hours = (h: number) => new Date(Date.now() + h * 3_600_000).toISOString();
    // Every key's deadline is created_at + 1 day.
    expect(await names({ rotate_due_before: hours(12) })).toEqual([]);
    expect(await names({ rotate_due_before: hours(25) })).toEqual(["budgeted", "plain", "rpm-only"]);
    // A rotation moves the deadline; a revoked key has none.
    await t.client.revokeKey(plain.id, "test");
    expect(await names({ rotate_due_before: hours(25) })).toEqual(["budgeted", "rpm-only"]);
    expect(await names({ budgeted: "true" })).toEqual(["budgeted"]);
    expect(await names({ budgeted: "false" })).toEqual(["plain", "rpm-only"]);
    // Removing the budget takes the key out of the budgeted list.
    await t.client.updateKey(budgeted.id, { limits: { rpm: 10 } });
    expect(await names({ budgeted: "true" })).toEqual([]);
    expect(rpmOnly.id).toBeTruthy();
    const bad = await t.client
      .listKeys({ project_id: p, rotate_due_before: "soon" })
      .catch((e: unknown) => e);
    expect((bad as ApiError).status).toBe(400);
  });

  it("refuses a name-sort cursor from outside the list, and bad parameters, with a clear 400", async () => {
    const refused = async (query: Record<string, string | number>) => {
      const err = await t.client.listKeys({ project_id: projectId, ...query }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(400);
      expect((err as ApiError).code).toBe("invalid_request");
      return (err as ApiError).message;
    };
    expect(await refused({ sort: "name", after: otherKeyId })).toMatch(/cursor/);
    await refused({ sort: "size" });
    await refused({ q: "" });
    await refused({ q: "x".repeat(201) });
    // The list itself is unchanged by the refused calls.
    expect(ids(await all({}))).toEqual(ids([...made].sort(byId)));
  });
});
