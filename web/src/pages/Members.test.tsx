// @vitest-environment jsdom
import { cleanup, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";
import type { User } from "../api/client";
import { list, person, renderWith, type Call } from "../test/fake-api";
import { Members } from "./Members";

afterEach(cleanup);

const people: User[] = [
  { ...person("owner"), id: "usr_o", email: "owner@example.com", display_name: "Olga" },
  {
    ...person("member", ["proj_a"]),
    id: "usr_m",
    email: "mia@example.com",
    display_name: '<b onclick="x">Mia</b>',
  },
];
const projects = [
  { id: "proj_a", object: "project", name: "alpha" },
  { id: "proj_b", object: "project", name: "beta" },
];

function route(call: Call) {
  if (call.method === "GET" && call.path === "/api/v1/users") return { body: { data: people } };
  if (call.method === "GET" && call.path === "/api/v1/users/invitations")
    return {
      body: {
        data: [
          {
            id: "inv_1",
            kind: "invite",
            email: "new@example.com",
            role: "reader",
            projects: null,
            expires_at: 1,
            created_at: 0,
          },
        ],
      },
    };
  if (call.path === "/api/v1/projects") return { body: list(projects) };
  if (call.method === "POST" && call.path === "/api/v1/users/invitations")
    return { status: 201, body: { invite_url: "http://console.test/invite/tok123", invitation: {} } };
  if (call.method === "POST" && call.path === "/api/v1/users/usr_m/reset-link")
    return { status: 201, body: { reset_url: "http://console.test/invite/reset456", expires_at: 1 } };
  if (call.method === "PATCH") return { body: { user: people[1] } };
  if (call.method === "DELETE") return {};
  return { status: 404, body: { error: { code: "not_found", message: "nope" } } };
}

describe("Members page", () => {
  it("lists people and pending invitations in tables, names as text, projects by name", async () => {
    const { container } = renderWith(<Members />, route, { ...person("owner"), id: "usr_o" });
    const table = await screen.findByRole("table", { name: "People" });
    const mia = await within(table).findByRole("row", { name: /mia@example.com/ });
    expect(within(mia).getByText('<b onclick="x">Mia</b>')).toBeTruthy();
    expect(within(mia).getByText("alpha")).toBeTruthy();
    expect(container.querySelector("b")).toBeNull();
    const pending = screen.getByRole("table", { name: "Pending invitations" });
    expect(await within(pending).findByRole("row", { name: /new@example.com/ })).toBeTruthy();
    // Nobody is offered changes to themselves.
    expect(screen.queryByRole("button", { name: "Edit owner@example.com" })).toBeNull();
  });

  it("invites a member limited to one project and shows the link to copy", async () => {
    const calls: Call[] = [];
    renderWith(<Members />, route, { ...person("owner"), id: "usr_o" }, calls);
    const ui = userEvent.setup();
    await ui.click(await screen.findByRole("button", { name: "Invite" }));
    const dialog = screen.getByRole("dialog", { name: "Invite a person" });
    await ui.type(within(dialog).getByLabelText("Email"), "sam@example.com");
    await ui.selectOptions(within(dialog).getByLabelText("Role"), "member");
    await ui.click(within(dialog).getByLabelText("Only the projects checked"));
    await ui.click(within(dialog).getByLabelText("beta"));
    await ui.click(within(dialog).getByRole("button", { name: "Send invitation" }));
    const done = await screen.findByRole("dialog", { name: "Invitation created" });
    expect((within(done).getByLabelText("Invitation link") as HTMLInputElement).value).toBe(
      "http://console.test/invite/tok123",
    );
    const post = calls.find((c) => c.method === "POST");
    expect(post?.body).toEqual({ email: "sam@example.com", role: "member", projects: ["proj_b"] });
  });

  it("an admin is offered no owner role and no changes to an owner; Disable sends the change", async () => {
    const calls: Call[] = [];
    renderWith(<Members />, route, { ...person("admin"), id: "usr_admin" }, calls);
    const ui = userEvent.setup();
    await screen.findByRole("row", { name: /mia@example.com/ });
    expect(screen.queryByRole("button", { name: "Edit owner@example.com" })).toBeNull();
    await ui.click(screen.getByRole("button", { name: "Invite" }));
    const roles = within(screen.getByRole("dialog")).getByLabelText("Role");
    expect(within(roles).queryByRole("option", { name: "owner" })).toBeNull();
    await ui.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Cancel" }));
    await ui.click(screen.getByRole("button", { name: "Disable mia@example.com" }));
    const patch = calls.find((c) => c.method === "PATCH");
    expect(patch?.path).toBe("/api/v1/users/usr_m");
    expect(patch?.body).toEqual({ disabled: true });
  });

  it("Reset link shows a one-time link to copy", async () => {
    renderWith(<Members />, route, { ...person("owner"), id: "usr_o" });
    const ui = userEvent.setup();
    await ui.click(await screen.findByRole("button", { name: "Reset link for mia@example.com" }));
    const dialog = await screen.findByRole("dialog", { name: "Reset link for mia@example.com" });
    const link = within(dialog).getByLabelText("Reset link") as HTMLInputElement;
    expect(link.value).toBe("http://console.test/invite/reset456");
    await ui.click(within(dialog).getByRole("button", { name: "Copy" }));
    expect(await navigator.clipboard.readText()).toBe("http://console.test/invite/reset456");
  });

  it("revokes a pending invitation", async () => {
    const calls: Call[] = [];
    renderWith(<Members />, route, { ...person("owner"), id: "usr_o" }, calls);
    await userEvent
      .setup()
      .click(await screen.findByRole("button", { name: "Revoke invitation for new@example.com" }));
    expect(calls.some((c) => c.method === "DELETE" && c.path === "/api/v1/users/invitations/inv_1")).toBe(
      true,
    );
  });
});
