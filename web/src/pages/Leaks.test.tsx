// @vitest-environment jsdom
import { cleanup, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";
import type { AuditEntry } from "../api/client";
import { list, person, renderWith, type Call } from "../test/fake-api";
import { Leaks, leakContainments } from "./Leaks";

afterEach(cleanup);

const audit = (seq: number, action: string, reason?: string): AuditEntry => ({
  seq,
  id: `aud_${seq}`,
  ts: "2026-12-01T10:00:00Z",
  actor_id: "adm_1",
  actor_role: "owner",
  action,
  target_type: "key",
  target_id: `key_${seq}`,
  project_id: "proj_a",
  ip: "203.0.113.9",
  user_agent: "curl/8",
  changes: reason ? { reason } : {},
  hash: "h",
});

function route(call: Call) {
  if (call.path === "/api/v1/audit") {
    const action = call.query.get("action");
    const data =
      action === "key.revoked"
        ? [
            audit(5, "key.revoked", "leaked: reported by github at https://github.com/x/y"),
            audit(4, "key.revoked", "rotated out"),
          ]
        : action === "key.canary_used"
          ? [audit(7, "key.canary_used")]
          : [];
    return { body: { object: "list", data, has_more: false, next_before_seq: null } };
  }
  if (call.path === "/api/v1/keys")
    return {
      body: list([
        {
          id: "key_c",
          name: "tripwire",
          canary: true,
          masked_key: "kw_live_…Cnry",
          project_id: "proj_a",
          created_at: "2026-12-01T00:00:00Z",
        },
        {
          id: "key_5",
          name: "ci-token",
          canary: false,
          masked_key: "kw_live_…Leak",
          project_id: "proj_a",
          created_at: "2026-12-01T00:00:00Z",
        },
        {
          id: "key_n",
          name: "normal",
          canary: false,
          masked_key: "kw_live_…Nrml",
          project_id: "proj_a",
          created_at: "2026-12-01T00:00:00Z",
        },
      ]),
    };
  if (call.path === "/api/v1/projects") return { body: list([{ id: "proj_a", name: "alpha" }]) };
  if (call.path === "/api/v1/leaks") return { status: 202, body: { status: "accepted" } };
  if (call.path === "/api/v1/leaks/reports")
    return {
      body: {
        object: "list",
        data: [
          {
            object: "leak_report",
            source: "github",
            tokens: 3,
            contained: 1,
            received_at: "2026-12-02T10:00:00Z",
          },
          {
            object: "leak_report",
            source: "admin adm_1",
            tokens: 1,
            contained: null,
            received_at: "2026-12-01T10:00:00Z",
          },
        ],
        has_more: false,
        next_before: null,
      },
    };
  return { status: 404, body: { error: { code: "not_found", message: "nope" } } };
}

describe("Leaks page", () => {
  it("keeps only containments the leak defence wrote", () => {
    expect(
      leakContainments([audit(1, "key.revoked", "leaked: x"), audit(2, "key.revoked", "no")]).map(
        (e) => e.seq,
      ),
    ).toEqual([1]);
  });

  it("lists keys contained after a leak, canary keys and canary uses", async () => {
    renderWith(<Leaks />, route, person("owner"));
    const contained = await screen.findByRole("table", { name: "Keys contained after a leak" });
    const row = await within(contained).findByRole("row", { name: /ci-token \(kw_live_…Leak\)/ });
    expect(row.textContent).toContain("revoked automatically");
    expect(row.textContent).toContain("reported by github at https://github.com/x/y");
    expect(within(contained).queryByRole("row", { name: /key_4/ })).toBeNull();
    const reports = screen.getByRole("table", { name: "Leak reports received" });
    const github = within(reports).getByRole("row", { name: /GitHub secret scanning/ });
    expect(
      within(github)
        .getAllByRole("cell")
        .map((c) => c.textContent),
    ).toEqual([new Date("2026-12-02T10:00:00Z").toLocaleString(), "GitHub secret scanning", "3", "1"]);
    expect(within(reports).getByRole("row", { name: /through the API \(adm_1\)/ }).textContent).toContain(
      "not recorded",
    );
    const canaries = screen.getByRole("table", { name: "Canary keys" });
    expect(await within(canaries).findByRole("row", { name: /tripwire/ })).toBeTruthy();
    expect(within(canaries).queryByRole("row", { name: /normal/ })).toBeNull();
    expect(
      within(screen.getByRole("table", { name: "Canary key uses" })).getByText("203.0.113.9"),
    ).toBeTruthy();
  });

  it("an owner reports a leaked key as a one-token report", async () => {
    const calls: Call[] = [];
    renderWith(<Leaks />, route, person("owner"), calls);
    const ui = userEvent.setup();
    await ui.type(await screen.findByLabelText("Leaked key"), "kw_live_abc");
    await ui.type(screen.getByLabelText("Where it was found"), "a pastebin");
    await ui.click(screen.getByRole("button", { name: "Report leak" }));
    expect(await screen.findByText(/Report received/)).toBeTruthy();
    expect(calls.find((c) => c.path === "/api/v1/leaks")?.body).toEqual([
      { token: "kw_live_abc", location: "a pastebin" },
    ]);
  });

  it("a reader is offered no report or canary creation; a member reads no audit log", async () => {
    const calls: Call[] = [];
    renderWith(<Leaks />, route, person("reader"), calls);
    await screen.findByRole("row", { name: /tripwire/ });
    expect(screen.queryByRole("button", { name: "Report leak" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Create canary key" })).toBeNull();
    cleanup();
    const memberCalls: Call[] = [];
    renderWith(<Leaks />, route, person("member"), memberCalls);
    await screen.findByRole("row", { name: /tripwire/ });
    expect(screen.queryByRole("table", { name: "Keys contained after a leak" })).toBeNull();
    expect(memberCalls.some((c) => c.path === "/api/v1/audit")).toBe(false);
    expect(memberCalls.some((c) => c.path === "/api/v1/leaks/reports")).toBe(false);
    cleanup();
    // A reader limited to some projects reads their audit entries, but not every project's reports.
    const limitedCalls: Call[] = [];
    renderWith(<Leaks />, route, person("reader", ["proj_a"]), limitedCalls);
    await screen.findByRole("table", { name: "Keys contained after a leak" });
    expect(screen.queryByRole("table", { name: "Leak reports received" })).toBeNull();
    expect(limitedCalls.some((c) => c.path === "/api/v1/leaks/reports")).toBe(false);
  });
});
