import { afterEach, describe, expect, it } from "vitest";
import { createTestStore, testDialects, type TestStore } from "../../test/support/harness.js";
import { openDatabase, type Database } from "../store/database.js";
import { BudgetLedger, type BudgetSubject } from "./ledger.js";

const NOW = Date.UTC(2026, 11, 7, 12);
const budget = (usd: number) => ({ budget: { usd, period: "day" as const, timezone: "UTC" } });

describe.each(testDialects())("budget ledger (%s)", (dialect) => {
  let store: TestStore;
  let db: Database;
  afterEach(async () => {
    await db?.close();
    await store?.cleanup();
  });
  async function open(spent = 0) {
    store = await createTestStore(dialect);
    db = await openDatabase({
      dataDir: store.dataDir,
      ...(store.databaseUrl ? { databaseUrl: store.databaseUrl, pgSchema: store.pgSchema! } : {}),
    });
    const loads: string[] = [];
    const loader = async (scope: string, id: string) => {
      loads.push(`${scope}:${id}`);
      return spent;
    };
    return {
      loads,
      ledger: (owner = "a", leaseMs = 1_000) => new BudgetLedger(db.db, loader, owner, leaseMs),
    };
  }
  const key: BudgetSubject = { scope: "key", id: "key_1", limits: budget(0.001) }; // 1000 µ$

  it("concurrent reservations from several processes never pass the budget", async () => {
    const { ledger, loads } = await open(200);
    const processes = [ledger("a"), ledger("b"), ledger("c")];
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => processes[i % 3]!.reserve([key], 100, NOW)),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(8); // (1000 - 200) / 100
    const refused = results.find((r) => !r.ok);
    expect(refused).toMatchObject({ ok: false, failed: { kind: "budget", allowed: false, limit: 1000 } });
    expect(await processes[0]!.state(key, NOW)).toMatchObject({ spent: 200, reserved: 800 });
    expect(loads.length).toBeGreaterThanOrEqual(1); // initialised from the durable spend
  });

  it("settle swaps the hold for the real cost; a project refusal rolls the key's hold back", async () => {
    const { ledger } = await open(0);
    const l = ledger();
    const project: BudgetSubject = { scope: "project", id: "proj_1", limits: budget(0.0003) };
    const a = await l.reserve([key, project], 200, NOW);
    if (!a.ok) throw new Error("refused");
    expect(a.checks.map((c) => c.remaining)).toEqual([800, 100]);
    const b = await l.reserve([key, project], 200, NOW);
    expect(b).toMatchObject({ ok: false, failed: { scope: "project" } });
    expect(await l.state(key, NOW)).toMatchObject({ reserved: 200 }); // nothing taken by b
    const settled = await l.settle(a.holds, 150);
    expect(settled.map((s) => [s.before, s.after])).toEqual([
      [0, 150],
      [0, 150],
    ]);
    expect(await l.state(key, NOW)).toMatchObject({ spent: 150, reserved: 0 });
    expect(await db.db.selectFrom("budget_holds").selectAll().execute()).toEqual([]);
  });

  it("holds of a process that died are released after their lease; renewed ones are kept", async () => {
    const { ledger } = await open(0);
    const dead = ledger("dead", 1_000);
    const alive = ledger("alive", 1_000);
    expect((await dead.reserve([key], 600, NOW)).ok).toBe(true);
    const kept = await alive.reserve([key], 300, NOW);
    expect((await alive.reserve([key], 300, NOW)).ok).toBe(false);
    await alive.renew(NOW + 900);
    expect(await alive.sweep(NOW + 1_500)).toBe(1); // only the dead one's
    expect(await alive.state(key, NOW)).toMatchObject({ reserved: 300 });
    expect((await alive.reserve([key], 600, NOW + 1_500)).ok).toBe(true);
    // A settlement that comes after its hold was swept adds the cost, takes nothing back twice.
    if (!kept.ok) throw new Error("refused");
    expect(await alive.sweep(NOW + 10_000)).toBe(2);
    await alive.settle(kept.holds, 50);
    expect(await alive.state(key, NOW)).toMatchObject({ spent: 50, reserved: 0 });
  });
});
