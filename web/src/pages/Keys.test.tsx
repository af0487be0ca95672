// @vitest-environment jsdom
import { cleanup, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import createClient from "openapi-fetch";
import { afterEach, describe, expect, it } from "vitest";
import type { Key, User } from "../api/client";
import { SessionContext } from "../api/context";
import type { paths } from "../api/schema";
import { Keys } from "./Keys";

afterEach(cleanup);

const KEY: Key = {
  id: "key_1",
  object: "api_key",
  project_id: "proj_1",
  name: '<img src=x onerror="alert(1)">',
  environment: "live",
  status: "active",
  masked_key: "kw_live_…Xk3p",
  permissions: { mode: "all" },
  allowed_models: null,
  allowed_ips: null,
  metadata: {},
  created_at: "2026-12-01T10:00:00Z",
  created_by: "usr_1",
  updated_at: "2026-12-01T10:00:00Z",
  last_used_at: null,
  expires_at: null,
  revoked_at: null,
  revoked_reason: null,
  limits: null,
  rotated_at: null,
  rotate_by: null,
  stale: false,
  canary: false,
};
const SECRET = "kw_live_0123456789abcdefghijklmnopqrstuvwxyzABCD";

/** The API as the page sees it, answering from memory: the list, and a create that returns a secret. */
function fakeApi(calls: string[]) {
  return createClient<paths>({
    baseUrl: "http://console.test",
    fetch: async (req: Request) => {
      calls.push(`${req.method} ${new URL(req.url).pathname}`);
      const json = (body: unknown, status = 200) =>
        new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
      if (req.method === "POST") return json({ ...KEY, id: "key_2", name: "ci", key: SECRET }, 201);
      const byBot = {
        ...KEY,
        id: "key_3",
        name: "bot-made",
        masked_key: "kw_live_…B0t9",
        created_by: "adm_9",
        created_by_name: "deploy bot",
      };
      return json({ object: "list", data: [KEY, byBot], has_more: false, next_cursor: null });
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

function renderKeys(role: User["role"], calls: string[] = []) {
  return render(
    <SessionContext.Provider value={{ api: fakeApi(calls), user: user(role), setUser: () => {} }}>
      <Keys projectId="proj_1" />
    </SessionContext.Provider>,
  );
}

describe("Keys page", () => {
  it("lists keys in a table, masked, with markup in names shown as text", async () => {
    const { container } = renderKeys("owner");
    const table = await screen.findByRole("table", { name: "Keys" });
    const row = within(table).getByRole("row", { name: /kw_live_…Xk3p/ });
    expect(within(row).getByText('<img src=x onerror="alert(1)">')).toBeTruthy();
    expect(container.querySelector("img")).toBeNull();
    // Who created each key, by name: the signed-in user's own keys say so.
    expect(within(row).getByRole("cell", { name: "A (you)" })).toBeTruthy();
    const byBot = within(table).getByRole("row", { name: /bot-made/ });
    expect(within(byBot).getByRole("cell", { name: "deploy bot" })).toBeTruthy();
  });

  it("offers a reader no Create key, Rotate or Revoke", async () => {
    renderKeys("reader");
    await screen.findByRole("table", { name: "Keys" });
    expect(screen.queryByRole("button", { name: "Create key" })).toBeNull();
    expect(screen.queryByRole("button", { name: /Revoke/ })).toBeNull();
    expect(screen.queryByRole("button", { name: /Rotate/ })).toBeNull();
  });

  it("shows a new secret once, and it is gone from the page when the dialog closes", async () => {
    const calls: string[] = [];
    renderKeys("member", calls);
    const ui = userEvent.setup();
    await ui.click(await screen.findByRole("button", { name: "Create key" }));
    const dialog = screen.getByRole("dialog", { name: "Create key" });
    await ui.type(within(dialog).getByLabelText("Name"), "ci");
    await ui.click(within(dialog).getByRole("button", { name: "Create key" }));
    const saved = await screen.findByRole("dialog", { name: "Save your key" });
    expect((within(saved).getByLabelText("Your new key") as HTMLInputElement).value).toBe(SECRET);
    expect(within(saved).getByText(/will not be shown again/)).toBeTruthy();
    await ui.click(within(saved).getByRole("button", { name: "Copy" }));
    expect(await navigator.clipboard.readText()).toBe(SECRET);
    await ui.click(within(saved).getByRole("button", { name: "Done" }));
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(document.body.innerHTML).not.toContain(SECRET);
    expect(calls).toContain("POST /api/v1/projects/proj_1/keys");
  });

  it("searches and sorts on the server, over every key, and shows what the server found", async () => {
    const queries: URLSearchParams[] = [];
    // The server knows a key the first page never showed: only a server-side search finds it.
    const far = { ...KEY, id: "key_9999", name: "billing-far-away", masked_key: "kw_live_…Zz99" };
    const api = createClient<paths>({
      baseUrl: "http://console.test",
      fetch: async (req: Request) => {
        const params = new URL(req.url).searchParams;
        queries.push(params);
        const data = params.get("q") === "billing" ? [far] : [KEY];
        return new Response(JSON.stringify({ object: "list", data, has_more: false, next_cursor: null }), {
          headers: { "content-type": "application/json" },
        });
      },
    });
    render(
      <SessionContext.Provider value={{ api, user: user("reader"), setUser: () => {} }}>
        <Keys projectId="proj_1" />
      </SessionContext.Provider>,
    );
    const ui = userEvent.setup();
    const table = await screen.findByRole("table", { name: "Keys" });
    await ui.type(screen.getByLabelText("Search keys"), "billing");
    expect(await within(table).findByRole("row", { name: /billing-far-away/ })).toBeTruthy();
    expect(within(table).queryByRole("row", { name: /kw_live_…Xk3p/ })).toBeNull();
    // One request for the whole word once typing pauses, not one per letter.
    expect(queries.filter((p) => p.has("q")).map((p) => p.get("q"))).toEqual(["billing"]);
    await ui.selectOptions(screen.getByLabelText("Sort by"), "Name Z–A");
    await waitFor(() => expect(queries.at(-1)?.get("sort")).toBe("-name"));
    expect(queries.at(-1)?.get("q")).toBe("billing");
  });
});
