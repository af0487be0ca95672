// @vitest-environment jsdom
import { cleanup, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import createClient from "openapi-fetch";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Key, User } from "../api/client";
import { SessionContext } from "../api/context";
import type { paths } from "../api/schema";
import { KeyDetail } from "./KeyDetail";

afterEach(cleanup);

// jsdom has no canvas: the chart library draws nothing here (the browser tests run the real one),
// and the page's numbers are read from the chart's accessible table.
const plotted: unknown[] = [];
vi.mock("uplot", () => ({
  default: class {
    constructor(_opts: unknown, data: unknown) {
      plotted.push(data);
    }
    destroy() {}
  },
}));

const KEY: Key = {
  id: "key_1",
  object: "api_key",
  project_id: "proj_1",
  name: "billing-app",
  environment: "live",
  status: "active",
  masked_key: "kw_live_…Xk3p",
  permissions: { mode: "read_only" },
  allowed_models: ["gpt-4o-mini"],
  allowed_ips: null,
  metadata: {},
  created_at: "2026-12-01T10:00:00Z",
  created_by: "usr_other",
  created_by_name: "Grace Hopper",
  updated_at: "2026-12-01T10:00:00Z",
  last_used_at: "2026-12-07T09:00:00Z",
  expires_at: null,
  revoked_at: null,
  revoked_reason: null,
  limits: { rpm: 60, budget: { usd: 20, period: "month", timezone: "UTC" } },
  rotated_at: null,
  rotate_by: "2027-03-01T10:00:00Z",
  stale: false,
  canary: false,
};
const SECRET = "kw_live_9876543210abcdefghijklmnopqrstuvwxyzWXYZ";
const ROW = {
  name: null,
  errors: 0,
  cached_tokens: 0,
  cost_micros: 0,
};

/** The API as the key page sees it, answering from memory and recording each call. */
function fakeApi(calls: string[]) {
  let key: Key = { ...KEY };
  return createClient<paths>({
    baseUrl: "http://console.test",
    fetch: async (req: Request) => {
      const path = new URL(req.url).pathname;
      calls.push(`${req.method} ${path}`);
      const json = (body: unknown, status = 200) =>
        new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
      if (path === "/api/v1/keys/key_1") return json(key);
      if (path === "/api/v1/keys/key_1/disable") return json((key = { ...key, status: "disabled" }));
      if (path === "/api/v1/keys/key_1/enable") return json((key = { ...key, status: "active" }));
      if (path === "/api/v1/keys/key_1/revoke")
        return json((key = { ...key, status: "revoked", revoked_at: "2026-12-07T10:00:00Z" }));
      if (path === "/api/v1/keys/key_1/rotate")
        return json({ ...key, key: SECRET, old_key_expires_at: "2026-12-07T10:00:00Z" });
      if (path === "/api/v1/keys/key_1/budget")
        return json({
          object: "key_budget",
          key_id: "key_1",
          key: {
            limit_usd: 20,
            spent_usd: 5,
            reserved_usd: 0,
            period: "month",
            timezone: "UTC",
            period_start: "2026-12-01T00:00:00Z",
            resets_at: "2027-01-01T00:00:00Z",
          },
          project: null,
        });
      if (path === "/api/v1/keys/key_1/ips")
        return json({
          object: "list",
          data: [{ ip: "203.0.113.7", first_seen_at: "2026-12-02T00:00:00Z" }],
          has_more: false,
        });
      if (path === "/api/v1/audit")
        return json({
          object: "list",
          data: [
            {
              seq: 1,
              id: "aud_1",
              ts: "2026-12-01T10:00:00Z",
              actor_id: "usr_other",
              actor_role: "owner",
              action: "key.created",
              target_type: "key",
              target_id: "key_1",
              project_id: "proj_1",
              ip: "198.51.100.4",
              user_agent: null,
              changes: { name: "billing-app" },
              hash: "h",
            },
          ],
          has_more: false,
          next_before_seq: null,
        });
      if (path === "/api/v1/usage")
        return json({
          object: "list",
          group_by: "hour",
          data: [
            {
              ...ROW,
              group: "2026-12-07T08:00:00.000Z",
              requests: 2,
              prompt_tokens: 10,
              completion_tokens: 5,
              cost_usd: 0.0001,
            },
            {
              ...ROW,
              group: "2026-12-07T09:00:00.000Z",
              requests: 1,
              prompt_tokens: 3,
              completion_tokens: 2,
              cost_usd: 0.00005,
            },
          ],
        });
      return json({ error: { code: "not_found", message: "no such route", request_id: "r" } }, 404);
    },
  });
}

function user(role: User["role"], id = "usr_me"): User {
  return {
    id,
    email: "a@example.com",
    display_name: "A",
    role,
    projects: null,
    created_at: 0,
    disabled_at: null,
  };
}

function renderDetail(u: User, calls: string[] = []) {
  return render(
    <SessionContext.Provider value={{ api: fakeApi(calls), user: u, setUser: () => {} }}>
      <KeyDetail keyId="key_1" />
    </SessionContext.Provider>,
  );
}

describe("Key detail page", () => {
  it("shows the key, its usage totals, budget, IPs and audit trail", async () => {
    renderDetail(user("owner"));
    await screen.findByRole("heading", { name: "billing-app" });
    expect(screen.getAllByText("kw_live_…Xk3p").length).toBeGreaterThan(0);
    expect(screen.getByText("Read only")).toBeTruthy();
    expect(screen.getByText("gpt-4o-mini")).toBeTruthy();
    expect(screen.getByText("Grace Hopper")).toBeTruthy();
    expect(await screen.findByText(/3 requests · 0 errors · 20 tokens/)).toBeTruthy();
    const chart = await screen.findByRole("table", { name: /Usage of this key/ });
    expect(within(chart).getAllByRole("row")).toHaveLength(3);
    // The chart is drawn in an effect after the data table renders: on a loaded machine, later.
    await waitFor(() =>
      expect(plotted.at(-1)).toEqual([
        [Date.parse("2026-12-07T08:00:00Z") / 1000, Date.parse("2026-12-07T09:00:00Z") / 1000],
        [2, 1],
        [15, 5],
        [0.0001, 0.00005],
      ]),
    );
    expect(await screen.findByText(/\$5\.00 spent of \$20\.00 this month \(25%\)/)).toBeTruthy();
    const ips = await screen.findByRole("table", { name: "IP addresses this key was used from" });
    expect(within(ips).getByRole("cell", { name: "203.0.113.7" })).toBeTruthy();
    const audit = await screen.findByRole("table", { name: "Changes to this key, newest first" });
    expect(within(audit).getByRole("cell", { name: "key.created" })).toBeTruthy();
  });

  it("offers a reader no actions, and a member none on someone else's key; a member reads no audit log", async () => {
    renderDetail(user("reader"));
    await screen.findByRole("heading", { name: "billing-app" });
    await screen.findByRole("table", { name: "Changes to this key, newest first" });
    for (const name of ["Rotate", "Regenerate", "Disable", "Revoke"])
      expect(screen.queryByRole("button", { name })).toBeNull();
    cleanup();
    const calls: string[] = [];
    renderDetail(user("member"), calls);
    await screen.findByRole("heading", { name: "billing-app" });
    await screen.findByRole("table", { name: "IP addresses this key was used from" });
    expect(screen.queryByRole("button", { name: "Revoke" })).toBeNull();
    expect(screen.queryByRole("heading", { name: "Audit trail" })).toBeNull();
    expect(calls).not.toContain("GET /api/v1/audit");
  });

  it("a member manages a key they created: Disable, then Enable", async () => {
    const calls: string[] = [];
    renderDetail(user("member", "usr_other"), calls);
    const ui = userEvent.setup();
    await ui.click(await screen.findByRole("button", { name: "Disable" }));
    await ui.click(await screen.findByRole("button", { name: "Enable" }));
    await screen.findByRole("button", { name: "Disable" });
    expect(calls.filter((c) => c.startsWith("POST"))).toEqual([
      "POST /api/v1/keys/key_1/disable",
      "POST /api/v1/keys/key_1/enable",
    ]);
  });

  it("Regenerate says the old secret stops at once and shows the new one once", async () => {
    renderDetail(user("admin"));
    const ui = userEvent.setup();
    await ui.click(await screen.findByRole("button", { name: "Regenerate" }));
    const dialog = screen.getByRole("dialog", { name: "Regenerate billing-app" });
    expect(within(dialog).getByText(/old secret stops working at once/)).toBeTruthy();
    await ui.click(within(dialog).getByRole("button", { name: "Regenerate" }));
    const saved = await screen.findByRole("dialog", { name: "Save your new key" });
    expect((within(saved).getByLabelText("Your new key") as HTMLInputElement).value).toBe(SECRET);
    await ui.click(within(saved).getByRole("button", { name: "Done" }));
    expect(document.body.innerHTML).not.toContain(SECRET);
  });

  it("Revoke asks with the key's name, then the key shows revoked and offers no more actions", async () => {
    renderDetail(user("owner"));
    const ui = userEvent.setup();
    await ui.click(await screen.findByRole("button", { name: "Revoke" }));
    const dialog = screen.getByRole("dialog", { name: "Revoke billing-app?" });
    await ui.type(within(dialog).getByLabelText("Reason (for the audit log)"), "left the team");
    await ui.click(within(dialog).getByRole("button", { name: "Revoke" }));
    await screen.findByText("Revoked");
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(screen.queryByRole("button", { name: "Rotate" })).toBeNull();
  });
});
