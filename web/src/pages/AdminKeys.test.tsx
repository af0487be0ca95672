// @vitest-environment jsdom
import { cleanup, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";
import type { AdminKey } from "../api/client";
import { list, person, renderWith, type Call } from "../test/fake-api";
import { AdminKeys } from "./AdminKeys";

afterEach(cleanup);

const KEY: AdminKey = {
  id: "adm_1",
  object: "admin_key",
  name: "deploy-bot",
  role: "admin",
  masked_key: "kw_admin_…Zz9q",
  status: "active",
  created_at: "2026-12-01T00:00:00Z",
  created_by: "usr_1",
  last_used_at: null,
  revoked_at: null,
};
const OWNER_KEY: AdminKey = { ...KEY, id: "adm_0", name: "root", role: "owner" };
const SECRET = "kw_admin_0123456789abcdefghijklmnopqrstuvwxyzAB";

function route(call: Call) {
  if (call.method === "GET") return { body: list([OWNER_KEY, KEY]) };
  if (call.path === "/api/v1/admin-keys")
    return { status: 201, body: { ...KEY, id: "adm_2", name: "ci", key: SECRET } };
  return { body: { ...KEY, status: "revoked" } };
}

describe("Admin keys page", () => {
  it("shows a new admin key once; after Done it is gone from the page", async () => {
    const calls: Call[] = [];
    renderWith(<AdminKeys />, route, person("owner"), calls);
    const ui = userEvent.setup();
    await ui.click(await screen.findByRole("button", { name: "Create admin key" }));
    const dialog = screen.getByRole("dialog", { name: "Create admin key" });
    await ui.type(within(dialog).getByLabelText("Name"), "ci");
    await ui.selectOptions(within(dialog).getByLabelText("Role"), "reader");
    await ui.click(within(dialog).getByRole("button", { name: "Create admin key" }));
    const saved = await screen.findByRole("dialog", { name: "Save your admin key" });
    expect((within(saved).getByLabelText("Your new key") as HTMLInputElement).value).toBe(SECRET);
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({ name: "ci", role: "reader" });
    await ui.click(within(saved).getByRole("button", { name: "Done" }));
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(document.body.innerHTML).not.toContain(SECRET);
  });

  it("revokes only after a confirmation that names the key; an admin may not revoke an owner key", async () => {
    const calls: Call[] = [];
    renderWith(<AdminKeys />, route, person("admin"), calls);
    const ui = userEvent.setup();
    await screen.findByRole("row", { name: /deploy-bot/ });
    expect(screen.queryByRole("button", { name: "Revoke root" })).toBeNull();
    await ui.click(screen.getByRole("button", { name: "Revoke deploy-bot" }));
    const confirm = screen.getByRole("dialog", { name: "Revoke deploy-bot?" });
    expect(calls.some((c) => c.method === "POST")).toBe(false);
    await ui.click(within(confirm).getByRole("button", { name: "Revoke" }));
    expect(calls.some((c) => c.method === "POST" && c.path === "/api/v1/admin-keys/adm_1/revoke")).toBe(true);
  });
});
