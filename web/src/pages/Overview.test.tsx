// @vitest-environment jsdom
import { cleanup, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { list, person, renderWith, type Call } from "../test/fake-api";
import { Overview } from "./Overview";

afterEach(cleanup);

const today = new Date().toISOString().slice(0, 10);
const usageRow = (group: string, name: string | null, cost: number, requests: number, errors = 0) => ({
  group,
  name,
  requests,
  errors,
  prompt_tokens: 0,
  completion_tokens: 0,
  cached_tokens: 0,
  cost_micros: cost * 1e6,
  cost_usd: cost,
});

function route(call: Call) {
  if (call.path === "/api/v1/usage") {
    const by = call.query.get("group_by");
    if (by === "day")
      return { body: { object: "list", group_by: "day", data: [usageRow(today, null, 12.5, 40, 2)] } };
    return {
      body: {
        object: "list",
        group_by: "key",
        data: [
          usageRow("key_a", "cheap", 0.5, 30),
          usageRow("key_b", "pricey", 12, 10, 2),
          usageRow("key_e", "spent-out", 0.4, 3),
        ],
      },
    };
  }
  if (call.path === "/api/v1/keys") {
    const pricey = {
      id: "key_b",
      name: "pricey",
      project_id: "proj_a",
      status: "active",
      canary: false,
      stale: true,
      rotate_by: null,
      last_used_at: null,
      limits: { budget: { usd: 13, period: "month", timezone: "UTC" } },
    };
    const due = {
      ...pricey,
      id: "key_d",
      name: "old-deploy",
      stale: false,
      limits: null,
      rotate_by: "2020-01-01T00:00:00Z",
    };
    // The server filters over every key; each panel asks for its own.
    if (call.query.get("budgeted") === "true") {
      // Two pages: the panel reads them all.
      if (call.query.get("after"))
        return {
          body: list([
            {
              ...pricey,
              id: "key_e",
              name: "spent-out",
              limits: { budget: { usd: 0.4, period: "month", timezone: "UTC" } },
            },
          ]),
        };
      return { body: { object: "list", data: [pricey], has_more: true, next_cursor: "key_b" } };
    }
    if (call.query.get("stale") === "true") return { body: list([pricey]) };
    if (call.query.get("rotate_due_before")) return { body: list([due]) };
    return { body: list([]) };
  }
  if (call.path === "/api/v1/webhooks") return { body: list([{ id: "wh_1" }]) };
  if (call.path === "/api/v1/webhooks/wh_1/deliveries")
    return {
      body: list([
        {
          id: "del_1",
          webhook_id: "wh_1",
          event_id: "evt_1",
          type: "budget.threshold",
          attempt: 1,
          status_code: 200,
          outcome: "delivered",
          attempted_at: "2026-12-01T00:00:00Z",
        },
      ]),
    };
  if (call.path === "/api/v1/projects") return { body: list([{ id: "proj_a", name: "alpha" }]) };
  return { status: 404, body: { error: { code: "not_found", message: "nope" } } };
}

describe("Overview page", () => {
  it("shows spend, requests and errors, top keys, budgets near the limit, keys to act on and alerts", async () => {
    renderWith(<Overview />, route, person("owner"));
    const cards = await screen.findByRole("region", { name: "This month" });
    expect(cards.textContent).toContain("Spend this month$12.50");
    expect(cards.textContent).toContain("Requests this month40");
    expect(cards.textContent).toContain("5.0% of requests");
    const top = screen.getByRole("table", { name: "Top keys by cost this month" });
    expect(within(top).getAllByRole("row")[1]?.textContent).toContain("pricey");
    const budgets = screen.getByRole("table", { name: /Budgets near their limit/ });
    expect(within(budgets).getByRole("row", { name: /pricey/ }).textContent).toContain("92%");
    expect(within(budgets).getByRole("row", { name: /spent-out/ }).textContent).toContain("100%");
    const attention = screen.getByRole("table", { name: "Keys due for rotation or stale" });
    expect(within(attention).getByRole("row", { name: /pricey/ }).textContent).toContain("stale (unused)");
    expect(within(attention).getByRole("row", { name: /old-deploy/ }).textContent).toContain(
      "rotation overdue",
    );
    const alerts = screen.getByRole("table", { name: "Recent alerts (webhook deliveries)" });
    expect(within(alerts).getByText("budget.threshold")).toBeTruthy();
  });

  it("a person limited to projects gets no All projects choice, and reads their project", async () => {
    const calls: Call[] = [];
    renderWith(<Overview />, route, person("member", ["proj_a"]), calls);
    await screen.findByRole("region", { name: "This month" });
    expect(screen.queryByRole("option", { name: "All projects" })).toBeNull();
    expect(
      calls.filter((c) => c.path === "/api/v1/usage").every((c) => c.query.get("project_id") === "proj_a"),
    ).toBe(true);
  });

  it("says an API error in words", async () => {
    renderWith(
      <Overview />,
      () => ({ status: 403, body: { error: { code: "forbidden", message: "x" } } }),
      person("reader"),
    );
    expect((await screen.findByRole("alert")).textContent).toBe("Your role does not allow this.");
  });
});
