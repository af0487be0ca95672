// @vitest-environment jsdom
import { cleanup, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import createClient from "openapi-fetch";
import { afterEach, describe, expect, it } from "vitest";
import type { User, Webhook } from "../api/client";
import { SessionContext } from "../api/context";
import type { paths } from "../api/schema";
import { Alerts } from "./Alerts";

afterEach(cleanup);

const HOOK: Webhook = {
  id: "wh_1",
  object: "webhook",
  project_id: null,
  description: "ops channel",
  masked_url: "https://hooks.example.com/…",
  masked_secret: "whsec_…a1B2",
  event_types: ["*"],
  enabled: true,
  created_at: "2026-12-01T10:00:00Z",
  created_by: "usr_1",
  updated_at: "2026-12-01T10:00:00Z",
};
const SIGNING = "whsec_0123456789abcdefghijklmnopqrstuv";
const DELIVERY = {
  id: "dlv_1",
  object: "webhook_delivery",
  webhook_id: "wh_1",
  event_id: "evt_1",
  type: "webhook.test",
  attempt: 1,
  status_code: 200,
  duration_ms: 12,
  error: null,
  outcome: "delivered",
  next_retry_at: null,
  attempted_at: "2026-12-07T10:00:00Z",
};

/** The API as the alerts page sees it; `bodies` records what was sent. */
function fakeApi(calls: string[], bodies: unknown[]) {
  let hooks: Webhook[] = [HOOK];
  let delivered = false;
  return createClient<paths>({
    baseUrl: "http://console.test",
    fetch: async (req: Request) => {
      const path = new URL(req.url).pathname;
      calls.push(`${req.method} ${path}`);
      const text = await req.text();
      if (text) bodies.push(JSON.parse(text));
      const json = (body: unknown, status = 200) =>
        new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
      if (path === "/api/v1/webhooks/event-types")
        return json({
          object: "list",
          data: [
            { type: "budget.threshold", kind: "rule" },
            { type: "webhook.test", kind: "rule" },
            { type: "key.revoked", kind: "lifecycle" },
          ],
          budget_thresholds_percent: [50, 80, 100],
        });
      if (path === "/api/v1/projects")
        return json({ object: "list", data: [], has_more: false, next_cursor: null });
      if (path === "/api/v1/webhooks" && req.method === "GET") return json({ object: "list", data: hooks });
      if (path === "/api/v1/webhooks" && req.method === "POST") {
        const created = { ...HOOK, id: "wh_2", description: "new hook", event_types: ["budget.threshold"] };
        hooks = [...hooks, created];
        return json({ ...created, secret: SIGNING }, 201);
      }
      if (path === "/api/v1/webhooks/wh_1/test") {
        delivered = true;
        return json({ object: "webhook_test", event_id: "evt_1", delivered: true, delivery: DELIVERY });
      }
      if (path === "/api/v1/webhooks/wh_1/deliveries")
        return json({
          object: "list",
          data: delivered ? [DELIVERY] : [],
          has_more: false,
          next_cursor: null,
        });
      if (path === "/api/v1/webhooks/wh_1" && req.method === "PATCH") {
        hooks = hooks.map((h) => (h.id === "wh_1" ? { ...h, enabled: false } : h));
        return json(hooks[0]);
      }
      if (path === "/api/v1/webhooks/wh_1" && req.method === "DELETE") {
        hooks = hooks.filter((h) => h.id !== "wh_1");
        return new Response(null, { status: 204 });
      }
      return json({ error: { code: "not_found", message: "no such route", request_id: "r" } }, 404);
    },
  });
}

function user(role: User["role"]): User {
  return {
    id: "usr_1",
    email: "a@example.com",
    display_name: "A",
    role,
    projects: null,
    created_at: 0,
    disabled_at: null,
  };
}

function renderAlerts(role: User["role"], calls: string[] = [], bodies: unknown[] = []) {
  return render(
    <SessionContext.Provider value={{ api: fakeApi(calls, bodies), user: user(role), setUser: () => {} }}>
      <Alerts />
    </SessionContext.Provider>,
  );
}

describe("Alerts page", () => {
  it("lists webhooks in a table and says the budget thresholds are fixed at 50/80/100%", async () => {
    renderAlerts("owner");
    const table = await screen.findByRole("table", { name: "Webhooks" });
    expect(within(table).getByRole("row", { name: /ops channel/ })).toBeTruthy();
    expect(await screen.findByText(/50%, 80%, 100% of the budget/)).toBeTruthy();
    expect(screen.getByText(/These thresholds are fixed/)).toBeTruthy();
  });

  it("adds a webhook with chosen events and shows its signing secret once", async () => {
    const bodies: unknown[] = [];
    renderAlerts("admin", [], bodies);
    const ui = userEvent.setup();
    await ui.click(await screen.findByRole("button", { name: "Add webhook" }));
    const dialog = screen.getByRole("dialog", { name: "Add webhook" });
    await ui.type(within(dialog).getByLabelText("Endpoint URL"), "https://hooks.example.com/k");
    await ui.type(within(dialog).getByLabelText("Description"), "new hook");
    await ui.click(within(dialog).getByRole("checkbox", { name: "All events" }));
    await ui.click(within(dialog).getByRole("button", { name: "Add webhook" }));
    expect(within(dialog).getByRole("alert").textContent).toContain("Choose at least one event");
    expect(bodies).toEqual([]);
    await ui.click(within(dialog).getByRole("checkbox", { name: "budget.threshold" }));
    await ui.click(within(dialog).getByRole("button", { name: "Add webhook" }));
    const saved = await screen.findByRole("dialog", { name: "Save your signing secret" });
    expect((within(saved).getByLabelText("Signing secret") as HTMLInputElement).value).toBe(SIGNING);
    expect(bodies).toEqual([
      { url: "https://hooks.example.com/k", description: "new hook", event_types: ["budget.threshold"] },
    ]);
    await ui.click(within(saved).getByRole("button", { name: "Done" }));
    expect(document.body.innerHTML).not.toContain(SIGNING);
    await screen.findByRole("row", { name: /new hook/ });
  });

  it("Send test event reports the delivery and opens the delivery log with it", async () => {
    renderAlerts("owner");
    const ui = userEvent.setup();
    await ui.click(await screen.findByRole("button", { name: "Send test event to ops channel" }));
    expect((await screen.findByRole("status")).textContent).toContain(
      "Test event delivered to ops channel (HTTP 200)",
    );
    const log = await screen.findByRole("table", { name: "Deliveries, newest first" });
    const row = within(log).getByRole("row", { name: /webhook\.test/ });
    expect(within(row).getByRole("cell", { name: "Delivered" })).toBeTruthy();
  });

  it("disables and deletes a webhook after confirming", async () => {
    const calls: string[] = [];
    renderAlerts("owner", calls);
    const ui = userEvent.setup();
    await ui.click(await screen.findByRole("button", { name: "Disable ops channel" }));
    await screen.findByRole("button", { name: "Enable ops channel" });
    await ui.click(screen.getByRole("button", { name: "Delete ops channel" }));
    const dialog = screen.getByRole("dialog", { name: "Delete ops channel?" });
    await ui.click(within(dialog).getByRole("button", { name: "Delete" }));
    await screen.findByText(/No webhooks yet/);
    expect(calls).toContain("DELETE /api/v1/webhooks/wh_1");
  });

  it("offers a member or reader no Add, test, disable or delete, but the delivery log", async () => {
    renderAlerts("member");
    await screen.findByRole("table", { name: "Webhooks" });
    expect(screen.queryByRole("button", { name: "Add webhook" })).toBeNull();
    expect(screen.queryByRole("button", { name: /Send test event/ })).toBeNull();
    expect(screen.queryByRole("button", { name: /Delete/ })).toBeNull();
    expect(screen.getByRole("button", { name: "Delivery log of ops channel" })).toBeTruthy();
  });
});
