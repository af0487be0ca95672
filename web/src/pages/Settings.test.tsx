// @vitest-environment jsdom
import { cleanup, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";
import { list, person, renderWith, type Call } from "../test/fake-api";
import { Settings } from "./Settings";

afterEach(cleanup);

const PROJECT = {
  id: "proj_a",
  object: "project",
  name: "alpha",
  rotation_max_age_days: null,
  rotation_enforce: false,
  stale_after_days: 60,
  leak_action: "revoke",
  updated_at: "2026-12-01T00:00:00Z",
};
const UPSTREAM = {
  id: "ups_1",
  name: "openai-main",
  base_url: "https://api.openai.com/v1",
  masked_api_key: "sk-…abcd",
  priority: 0,
  updated_at: "2026-12-01T00:00:00Z",
};

function route(call: Call) {
  if (call.method === "GET" && call.path === "/api/v1/projects") return { body: list([PROJECT]) };
  if (call.method === "GET" && call.path.endsWith("/upstreams")) return { body: list([UPSTREAM]) };
  if (call.method === "PATCH" && call.path === "/api/v1/projects/proj_a")
    return { body: { ...PROJECT, ...(call.body as object), updated_at: "2026-12-02T00:00:00Z" } };
  if (call.method === "PATCH") return { body: { ...UPSTREAM, masked_api_key: "sk-…wxyz" } };
  return { status: 404, body: { error: { code: "not_found", message: "nope" } } };
}

describe("Settings page", () => {
  it("saves the rotation policy as the API takes it", async () => {
    const calls: Call[] = [];
    renderWith(<Settings />, route, person("owner"), calls);
    const ui = userEvent.setup();
    const policy = await screen.findByRole("form", { name: "Rotation policy" });
    expect((within(policy).getByLabelText(/Flag keys unused for/) as HTMLInputElement).value).toBe("60");
    await ui.type(within(policy).getByLabelText(/Rotate keys every/), "90");
    await ui.click(within(policy).getByLabelText(/Expire keys at their rotation deadline/));
    await ui.clear(within(policy).getByLabelText(/Flag keys unused for/));
    await ui.selectOptions(within(policy).getByLabelText("When a key is reported leaked"), "disable");
    await ui.click(within(policy).getByRole("button", { name: "Save policy" }));
    expect(await screen.findByText("Rotation policy of alpha saved.")).toBeTruthy();
    expect(calls.find((c) => c.method === "PATCH")?.body).toEqual({
      rotation_max_age_days: 90,
      rotation_enforce: true,
      stale_after_days: null,
      leak_action: "disable",
    });
  });

  it("refuses days that are not 1–3650 and sends nothing", async () => {
    const calls: Call[] = [];
    renderWith(<Settings />, route, person("admin"), calls);
    const ui = userEvent.setup();
    const policy = await screen.findByRole("form", { name: "Rotation policy" });
    await ui.type(within(policy).getByLabelText(/Rotate keys every/), "0");
    await ui.click(within(policy).getByRole("button", { name: "Save policy" }));
    expect(within(policy).getByRole("alert").textContent).toContain("whole number from 1 to 3650");
    expect(calls.some((c) => c.method === "PATCH")).toBe(false);
  });

  it("shows upstream keys masked and replaces one", async () => {
    const calls: Call[] = [];
    renderWith(<Settings />, route, person("owner"), calls);
    const ui = userEvent.setup();
    const table = await screen.findByRole("table", { name: "Upstream providers of alpha" });
    expect(await within(table).findByText("sk-…abcd")).toBeTruthy();
    await ui.click(screen.getByRole("button", { name: "Rotate key of openai-main" }));
    const dialog = screen.getByRole("dialog", { name: "Rotate key of openai-main" });
    await ui.type(within(dialog).getByLabelText("New provider API key"), "sk-new-key-wxyz");
    await ui.click(within(dialog).getByRole("button", { name: "Replace key" }));
    expect(calls.find((c) => c.path === "/api/v1/upstreams/ups_1")?.body).toEqual({
      api_key: "sk-new-key-wxyz",
    });
    expect(document.body.innerHTML).not.toContain("sk-new-key-wxyz");
  });

  it("offers a reader no Save or Rotate", async () => {
    renderWith(<Settings />, route, person("reader"));
    await screen.findByRole("form", { name: "Rotation policy" });
    await screen.findByText("sk-…abcd");
    expect(screen.queryByRole("button", { name: "Save policy" })).toBeNull();
    expect(screen.queryByRole("button", { name: /Rotate key/ })).toBeNull();
  });
});
