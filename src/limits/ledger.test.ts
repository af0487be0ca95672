import { afterEach, describe, expect, it } from "vitest";
import { createTestStore, testDialects, type TestStore } from "../../test/support/harness.js";
import type { AlertEvent } from "../alerts/types.js";
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
    const durable = { spent };
    const loads: string[] = [];
    const loader = async (scope: string, id: string) => {
      loads.push(`${scope}:${id}`);
      return durable.spent;
    };
    const alerts: AlertEvent[] = [];
    const sink = { emit: (e: AlertEvent) => void alerts.push(e) };
    return {
      loads,
      alerts,
      durable,
      ledger: (owner = "a", leaseMs = 1_000) => new BudgetLedger(db.db, loader, owner, leaseMs, sink),
    };
  }
  const key: BudgetSubject = { scope: "key", id: "key_1", limits: budget(0.001), projectId: "proj_1" }; // 1000 µ$
  const row = async (subject = "key_1") =>
    db.db
      .selectFrom("budget_ledger")
      .select(["spent", "reserved"])
      .where("subject_id", "=", subject)
      .executeTakeFirstOrThrow();
  const holds = async () => db.db.selectFrom("budget_holds").selectAll().execute();

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

  it("far from the limit one grant serves many requests without a store write", async () => {
    const { ledger } = await open(0);
    const l = ledger();
    const big: BudgetSubject = { ...key, limits: budget(1) }; // 1,000,000 µ$
    expect((await l.reserve([big], 100, NOW)).ok).toBe(true);
    const granted = await row();
    // The request, plus 1,000 more of its size (the cap; an eighth of the rest would be more).
    expect(Number(granted.reserved)).toBe(100 + 1_000 * 100);
    for (let i = 0; i < 500; i++) expect((await l.reserve([big], 100, NOW)).ok).toBe(true);
    expect(await row()).toEqual(granted); // not written meanwhile
    expect(await l.state(big, NOW)).toMatchObject({ spent: 0, reserved: 501 * 100 });
  });

  it("settling is in memory; a flush writes the costs back, alerts once, and gives idle room back", async () => {
    const { ledger, alerts } = await open(0);
    const l = ledger();
    const project: BudgetSubject = {
      scope: "project",
      id: "proj_1",
      limits: budget(0.0003),
      projectId: "proj_1",
    };
    const a = await l.reserve([key, project], 200, NOW);
    if (!a.ok) throw new Error("refused");
    expect(a.checks.map((c) => c.remaining)).toEqual([800, 100]);
    const b = await l.reserve([key, project], 200, NOW);
    expect(b).toMatchObject({ ok: false, failed: { scope: "project" } });
    expect(await l.state(key, NOW)).toMatchObject({ reserved: 200 }); // nothing taken by b
    l.settle(a.holds, 150);
    expect(await row()).toMatchObject({ spent: 0 }); // not written yet
    expect(await l.state(key, NOW)).toMatchObject({ spent: 150, reserved: 0 }); // as this process sees it
    await l.flush(NOW); // used since the last flush: costs written back, room kept
    expect(await row()).toMatchObject({ spent: 150 });
    expect(
      alerts
        .filter((e) => e.type === "budget.threshold")
        .map((e) => [e.data.scope, e.data.threshold_percent]),
    ).toEqual([["project", 50]]);
    await l.flush(NOW + 250); // idle since: the spare room goes back, the holds with it
    expect(await row()).toMatchObject({ spent: 150, reserved: 0 });
    expect(await row("proj_1")).toMatchObject({ spent: 150, reserved: 0 });
    expect(await holds()).toEqual([]);
    await l.flush(NOW + 500);
    expect(alerts.filter((e) => e.type === "budget.threshold")).toHaveLength(1);
  });

  it("close writes everything back and gives every hold back", async () => {
    const { ledger } = await open(0);
    const l = ledger();
    const r = await l.reserve([key], 100, NOW);
    if (!r.ok) throw new Error("refused");
    l.settle(r.holds, 70);
    await l.close(NOW);
    expect(await row()).toMatchObject({ spent: 70, reserved: 0 });
    expect(await holds()).toEqual([]);
  });

  it("a dead process's holds are released after their lease, and its unwritten costs re-read from the usage rows", async () => {
    const { ledger, durable } = await open(0);
    const dead = ledger("dead", 1_000);
    const alive = ledger("alive", 1_000);
    const d = await dead.reserve([key], 600, NOW);
    if (!d.ok) throw new Error("refused");
    dead.settle(d.holds, 400); // served and metered (usage rows), never written back: then it died
    durable.spent = 400;
    expect((await alive.reserve([key], 300, NOW)).ok).toBe(true);
    expect((await alive.reserve([key], 300, NOW)).ok).toBe(false);
    await alive.renew(NOW + 900);
    expect(await alive.sweep(NOW + 1_500)).toBe(1); // only the dead one's
    expect(await row()).toMatchObject({ spent: 400, reserved: 300 });
    expect((await alive.reserve([key], 300, NOW + 1_500)).ok).toBe(true);
    expect((await alive.reserve([key], 100, NOW + 1_500)).ok).toBe(false); // 400 + 600 held
  });

  it("a live process whose hold was swept (renewals failed) adds its coverage back on the next write", async () => {
    const { ledger } = await open(0);
    const l = ledger("slow", 1_000);
    const r = await l.reserve([key], 300, NOW);
    if (!r.ok) throw new Error("refused");
    expect(await l.sweep(NOW + 5_000)).toBe(1); // no renewals: released
    expect(await row()).toMatchObject({ reserved: 0 });
    l.settle(r.holds, 250);
    const again = await l.reserve([key], 300, NOW + 5_000);
    if (!again.ok) throw new Error("refused");
    // The settled cost is spent and the new request held; nothing was given back twice.
    expect(await row()).toMatchObject({ spent: 250, reserved: 300 });
    l.settle(again.holds, 300);
    await l.close(NOW + 5_000);
    expect(await row()).toMatchObject({ spent: 550, reserved: 0 });
  });
});
