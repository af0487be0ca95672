// @vitest-environment jsdom
import { cleanup, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";
import type { AuditEntry } from "../api/client";
import { person, renderWith, type Call } from "../test/fake-api";
import { Audit } from "./Audit";

afterEach(cleanup);

const entry = (seq: number): AuditEntry => ({
  seq,
  id: `aud_${seq}`,
  ts: "2026-12-01T10:00:00Z",
  actor_id: "usr_1",
  actor_role: "owner",
  action: seq % 2 ? "key.created" : "key.revoked",
  target_type: "key",
  target_id: `key_${seq}`,
  project_id: null,
  ip: "127.0.0.1",
  user_agent: null,
  changes: { name: "<script>x</script>" },
  hash: "h",
  // One entry's actor was deleted since: it reads under its id.
  actor_name: seq === 1 ? null : "Ada Lovelace",
});

function route(tampered: boolean) {
  return (call: Call) => {
    if (call.path === "/api/v1/audit/verify")
      return {
        body: {
          ok: !tampered,
          entries: 4,
          head_seq: 4,
          head_hash: "h",
          truncated: false,
          issues: tampered ? [{ seq: 2, id: "aud_2", problem: "hash_mismatch" }] : [],
        },
      };
    const before = call.query.get("before_seq");
    const data = before ? [entry(2), entry(1)] : [entry(4), entry(3)];
    return { body: { object: "list", data, has_more: !before, next_before_seq: before ? null : 3 } };
  };
}

describe("Audit log page", () => {
  it("lists entries in a table, pages back, and filters by action and date", async () => {
    const calls: Call[] = [];
    renderWith(<Audit />, route(false), person("reader"), calls);
    const ui = userEvent.setup();
    const table = await screen.findByRole("table", { name: "Audit entries" });
    const newest = await within(table).findByRole("row", { name: /key_4/ });
    // The actor by name and role, the id beside it for filtering.
    expect(within(newest).getByRole("cell", { name: "Ada Lovelace (owner)usr_1" })).toBeTruthy();
    await ui.click(screen.getByRole("button", { name: "Older entries" }));
    const oldest = await within(table).findByRole("row", { name: /key_1/ });
    expect(within(oldest).getByRole("cell", { name: "usr_1 (owner)" })).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Older entries" })).toBeNull();
    await ui.type(screen.getByLabelText("Action"), "key.revoked");
    await ui.type(screen.getByLabelText("From"), "2026-12-01");
    await ui.click(screen.getByRole("button", { name: "Filter" }));
    const last = calls.filter((c) => c.path === "/api/v1/audit").at(-1)!;
    expect(last.query.get("action")).toBe("key.revoked");
    expect(last.query.get("since")).toBe("2026-12-01T00:00:00.000Z");
    expect(document.querySelector("script")).toBeNull();
  });

  it("Verify chain reports an intact chain", async () => {
    renderWith(<Audit />, route(false), person("owner"));
    await userEvent.setup().click(await screen.findByRole("button", { name: "Verify chain" }));
    expect(await screen.findByText("The audit chain is intact: 4 entries verified.")).toBeTruthy();
  });

  it("Verify chain says where the chain was tampered with", async () => {
    renderWith(<Audit />, route(true), person("owner"));
    await userEvent.setup().click(await screen.findByRole("button", { name: "Verify chain" }));
    const status = await screen.findByText(/tampered with/);
    expect(status.textContent).toContain("entry 2: its content was changed");
  });
});
