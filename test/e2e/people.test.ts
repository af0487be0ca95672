import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/core/clock.js";
import type { UserView } from "../../src/people/views.js";
import { Browser, tokenOf } from "../support/browser.js";
import { startTestServer, testDialects, type TestServer } from "../support/harness.js";

const OWNER = { email: "owner@example.com", password: "owner's long passphrase" };
const HOUR = 3_600_000;

interface Invite {
  invite_url: string;
  invitation: { id: string; email: string; role: string; projects: string[] | null };
}

/**
 * People over the real server: the setup link, invitations, sign-in and sign-out, roles and
 * project limits on the same routes admin keys use, and the defences (CSRF, session fixation,
 * throttling, single-use expiring links, disabling).
 */
describe.each(testDialects())("people (%s)", (dialect) => {
  let t: TestServer;
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  let owner: Browser;
  let ownerUser: UserView;
  let projectA: string;
  let projectB: string;

  /** An owner-made invitation, accepted in a fresh browser: the signed-in browser and user. */
  async function join(email: string, role: string, projects?: string[], name = email.split("@")[0]) {
    const inv = await owner.post<Invite>("/users/invitations", {
      email,
      role,
      ...(projects ? { projects } : {}),
    });
    expect(inv.status).toBe(201);
    const b = new Browser(t.url, "10.1.0.1");
    const accepted = await b.accept(inv.body.invite_url, {
      display_name: name,
      password: `${email} passphrase`,
    });
    expect(accepted.status).toBe(200);
    // Single use: a second accept (the same person again, or whoever found the link) is refused.
    const reuse = await new Browser(t.url, "10.1.0.9").accept(inv.body.invite_url, {
      display_name: "Mallory",
      password: "mallory's long passphrase",
    });
    expect(reuse.status).toBe(410);
    expect(reuse.body).toMatchObject({ error: { code: "invitation_used" } });
    return { browser: b, user: accepted.body.user, password: `${email} passphrase` };
  }

  beforeAll(async () => {
    t = await startTestServer(dialect, { clock, logLevel: "warn", config: { trustProxy: true } });
    projectA = (await t.client.createProject({ name: "alpha" })).id;
    projectB = (await t.client.createProject({ name: "beta" })).id;
    owner = new Browser(t.url, "10.0.0.1");
  });
  afterAll(async () => t?.stop());

  it("the setup link makes the first owner and signs them in; it works once", async () => {
    const setup = (await t.ctx.invitations.setupLink(OWNER.email))!;
    expect(setup.invite_url).toBe(`${t.url}/invite/${tokenOf(setup.invite_url)}`);
    const token = tokenOf(setup.invite_url);
    const anon = new Browser(t.url);
    expect((await anon.get(`/auth/invitations/${token}`)).body).toEqual({
      kind: "setup",
      email: OWNER.email,
      role: "owner",
      expires_at: clock.now() + 72 * HOUR,
    });
    const weak = await owner.accept(setup.invite_url, { display_name: "Olga", password: "password1234" });
    expect(weak.status).toBe(400);
    expect(weak.body).toMatchObject({ error: { code: "weak_password", message: /common/ } });
    const short = await owner.accept(setup.invite_url, { display_name: "Olga", password: "short" });
    expect(short.body).toMatchObject({ error: { code: "weak_password", message: /at least 12/ } });
    expect(owner.cookie).toBeNull();

    const r = await owner.accept(setup.invite_url, { display_name: "Olga", password: OWNER.password });
    expect(r.status).toBe(200);
    const cookie = r.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^keyward_session=[A-Za-z0-9_-]{43}; /);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Path=\//);
    expect(cookie).not.toMatch(/Secure/); // plain http here
    ownerUser = r.body.user;
    expect(ownerUser).toMatchObject({
      email: OWNER.email,
      display_name: "Olga",
      role: "owner",
      projects: null,
    });
    expect((await owner.get("/auth/me")).body).toEqual({ user: ownerUser });
    // The same role checks as an owner admin key: it may create projects.
    expect((await owner.post("/projects", { name: "made-by-olga" })).status).toBe(201);

    const again = await new Browser(t.url).accept(setup.invite_url, {
      display_name: "Eve",
      password: "eve's long passphrase",
    });
    expect(again.status).toBe(410);
    expect(again.body).toMatchObject({ error: { code: "invitation_used" } });
    expect((await anon.get(`/auth/invitations/${token}`)).status).toBe(410);
    expect((await anon.get(`/auth/invitations/${"x".repeat(43)}`)).body).toMatchObject({
      error: { code: "invitation_not_found" },
    });
  });

  it("over HTTPS (X-Forwarded-Proto with trust_proxy) the cookie is Secure", async () => {
    const b = new Browser(t.url, "10.0.0.2");
    const r = await b.send("POST", "/auth/login", {
      json: OWNER,
      headers: { "x-forwarded-proto": "https" },
      origin: t.url.replace("http:", "https:"),
    });
    expect(r.status).toBe(200);
    expect(r.headers.get("set-cookie")).toMatch(/; Secure/);
  });

  it("sign out ends the session on the server; sign in starts a new one", async () => {
    const b = new Browser(t.url, "10.0.0.3");
    expect((await b.login(OWNER.email, OWNER.password)).status).toBe(200);
    const first = b.cookie!;
    const sessions = await b.get<{ data: Array<{ id: string; current: boolean }> }>("/auth/sessions");
    expect(sessions.body.data.filter((s) => s.current)).toHaveLength(1);
    const out = await b.post("/auth/logout");
    expect(out.status).toBe(204);
    expect(out.headers.get("set-cookie")).toMatch(/keyward_session=; Max-Age=0/);
    const replay = new Browser(t.url);
    replay.cookie = first;
    expect((await replay.get("/auth/me")).status).toBe(401);
    expect((await replay.get("/projects")).body).toMatchObject({ error: { code: "unauthorized" } });
    expect((await b.login(OWNER.email, OWNER.password)).status).toBe(200);
    expect(b.cookie).not.toBe(first);
    expect((await b.get("/auth/me")).status).toBe(200);
  });

  it("invites a member limited to a project and a reader; each accepts and signs in", async () => {
    const member = await join("mia@example.com", "member", [projectA], "Mia");
    const reader = await join("rex@example.com", "reader", undefined, "Rex");
    expect(member.user).toMatchObject({ role: "member", projects: [projectA] });
    expect(reader.user).toMatchObject({ role: "reader", projects: null });
    for (const p of [member, reader]) {
      const b = new Browser(t.url, "10.1.0.2");
      expect((await b.login(p.user.email, p.password)).body).toEqual({ user: p.user });
    }
    const list = await owner.get<{ data: UserView[] }>("/users");
    expect(list.body.data.map((u) => u.email).sort()).toEqual([
      "mia@example.com",
      OWNER.email,
      "rex@example.com",
    ]);
    // Accepted invitations are no longer pending.
    const pending = await owner.get<{ data: unknown[] }>("/users/invitations");
    expect(pending.body.data).toEqual([]);

    // The reader reads and is refused writes.
    const keyB = await t.client.createKey(projectB, { name: "b-key" });
    expect((await reader.browser.get(`/projects/${projectB}/keys`)).status).toBe(200);
    const refused = await reader.browser.post(`/projects/${projectA}/keys`, { name: "nope" });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: { code: "forbidden" } });
    expect((await reader.browser.post(`/keys/${keyB.id}/revoke`, {})).status).toBe(403);
    expect(
      (await reader.browser.post("/users/invitations", { email: "x@example.com", role: "reader" })).status,
    ).toBe(403);

    // The member sees and changes only project A.
    const mine = await member.browser.post<{ id: string; created_by: string }>(`/projects/${projectA}/keys`, {
      name: "mia's key",
    });
    expect(mine.status).toBe(201);
    expect(mine.body.created_by).toBe(member.user.id);
    expect((await member.browser.post(`/projects/${projectB}/keys`, { name: "x" })).status).toBe(404);
    expect((await member.browser.get(`/projects/${projectB}`)).status).toBe(404);
    expect((await member.browser.get(`/keys/${keyB.id}`)).status).toBe(404);
    expect((await member.browser.post(`/keys/${keyB.id}/revoke`, {})).status).toBe(404);
    const projects = await member.browser.get<{ data: Array<{ id: string }> }>("/projects");
    expect(projects.body.data.map((p) => p.id)).toEqual([projectA]);
    const keys = await member.browser.get<{ data: Array<{ project_id: string }> }>("/keys");
    expect(new Set(keys.body.data.map((k) => k.project_id))).toEqual(new Set([projectA]));
    expect((await member.browser.get(`/keys?project_id=${projectB}`)).status).toBe(404);
    expect((await member.browser.get(`/usage?group_by=project&project_id=${projectB}`)).status).toBe(404);
    expect((await member.browser.get("/usage?group_by=project")).status).toBe(200);
    const verified = await member.browser.post("/keys/verify", { key: keyB.key });
    expect(verified.body).toMatchObject({ valid: false, code: "NOT_FOUND", key_id: null, project_id: null });
    expect((await reader.browser.post("/keys/verify", { key: keyB.key })).body).toMatchObject({
      code: "VALID",
    });
    expect((await t.client.getKey(keyB.id)).status).toBe("active");

    // Audit entries name the person who acted.
    const audit = await t.client.listAudit({ action: "key.created", target_id: mine.body.id });
    expect(audit.data[0]).toMatchObject({ actor_id: member.user.id, actor_role: "member" });
  });

  it("concurrent accepts of one invitation: exactly one wins", async () => {
    const inv = await owner.post<Invite>("/users/invitations", { email: "race@example.com", role: "reader" });
    const replies = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        new Browser(t.url, `10.6.0.${i}`).accept(inv.body.invite_url, {
          display_name: `racer ${i}`,
          password: `racer ${i} long passphrase`,
        }),
      ),
    );
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 410, 410, 410, 410]);
    const users = await owner.get<{ data: UserView[] }>("/users");
    expect(users.body.data.filter((u) => u.email === "race@example.com")).toHaveLength(1);
  });

  it("an admin may not invite owners; project access is for members and readers", async () => {
    const admin = await join("ada@example.com", "admin");
    const r = await admin.browser.post("/users/invitations", { email: "o2@example.com", role: "owner" });
    expect(r.status).toBe(403);
    const p = await owner.post("/users/invitations", {
      email: "a2@example.com",
      role: "admin",
      projects: [projectA],
    });
    expect(p.status).toBe(400);
    const unknown = await owner.post("/users/invitations", {
      email: "m2@example.com",
      role: "member",
      projects: ["proj_01JD3ZK5Q8XW2V7N4M6B9C1D2E"],
    });
    expect(unknown.body).toMatchObject({ error: { code: "invalid_request", message: /unknown project/ } });
    const taken = await owner.post("/users/invitations", { email: "ADA@example.com", role: "reader" });
    expect(taken.status).toBe(409);
  });

  it("an invitation expires (410) and a withdrawn one is gone (404)", async () => {
    const inv = await owner.post<Invite>("/users/invitations", { email: "late@example.com", role: "reader" });
    const withdrawn = await owner.post<Invite>("/users/invitations", {
      email: "gone@example.com",
      role: "reader",
    });
    expect((await owner.delete(`/users/invitations/${withdrawn.body.invitation.id}`)).status).toBe(204);
    expect(
      (await new Browser(t.url).get(`/auth/invitations/${tokenOf(withdrawn.body.invite_url)}`)).status,
    ).toBe(404);
    clock.advance(72 * HOUR + 1000);
    try {
      const token = tokenOf(inv.body.invite_url);
      expect((await new Browser(t.url).get(`/auth/invitations/${token}`)).body).toMatchObject({
        error: { code: "invitation_expired" },
      });
      const r = await new Browser(t.url).accept(inv.body.invite_url, {
        display_name: "Late",
        password: "late but long passphrase",
      });
      expect(r.status).toBe(410);
      expect(r.body).toMatchObject({ error: { code: "invitation_expired" } });
      expect(
        (await t.client.request<{ data: UserView[] }>("GET", "/users")).data.map((u) => u.email),
      ).not.toContain("late@example.com");
    } finally {
      // Sessions made before are idle by now: sign the owner in again for the tests after.
      expect((await owner.login(OWNER.email, OWNER.password)).status).toBe(200);
    }
  });

  it("sign-in is throttled per account (unknown emails alike) and per IP, with Retry-After", async () => {
    const victim = await join("vic@example.com", "reader");
    const attacker = new Browser(t.url, "10.9.0.1");
    const wrong = await attacker.login("vic@example.com", "not the password at all");
    const unknown = await attacker.login("nobody@example.com", "not the password at all");
    const disabledish = await attacker.login("VIC@example.com ", "still not the password");
    for (const r of [wrong, unknown, disabledish]) {
      expect(r.status).toBe(401);
      expect((r.body as unknown as { error: { code: string; message: string } }).error).toMatchObject({
        code: "invalid_credentials",
        message: "wrong email or password",
      });
    }
    for (let i = 0; i < 3; i++) await attacker.login("vic@example.com", "guess " + i);
    for (let i = 0; i < 4; i++) await attacker.login("nobody@example.com", "guess " + i);
    // Five failures each: the sixth is refused before the password is even looked at.
    for (const email of ["vic@example.com", "nobody@example.com"]) {
      const r = await new Browser(t.url, "10.9.0.2").login(email, victim.password);
      expect(r.status).toBe(429);
      expect(r.body).toMatchObject({ error: { code: "too_many_attempts" } });
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    }
    clock.advance(15 * 60_000 + 1000);
    expect((await new Browser(t.url, "10.9.0.3").login("vic@example.com", victim.password)).status).toBe(200);

    // Per IP: 20 failures over 20 different accounts, then even a fresh account is refused.
    const sprayer = new Browser(t.url, "10.9.9.9");
    for (let i = 0; i < 20; i++)
      expect((await sprayer.login(`spray${i}@example.com`, "x".repeat(12))).status).toBe(401);
    expect((await sprayer.login("vic@example.com", victim.password)).status).toBe(429);
    expect((await new Browser(t.url, "10.9.9.10").login("vic@example.com", victim.password)).status).toBe(
      200,
    );
  });

  it("session fixation: a token the browser held before sign-in is never accepted or upgraded", async () => {
    const rex = { email: "rex@example.com", password: "rex@example.com passphrase" };
    // A token the attacker made up is refused, and sign-in issues a different one.
    const b = new Browser(t.url, "10.2.0.1");
    const planted = "A".repeat(43);
    b.cookie = planted;
    expect((await b.get("/auth/me")).status).toBe(401);
    expect((await b.login(rex.email, rex.password)).status).toBe(200);
    expect(b.cookie).not.toBe(planted);
    const stillPlanted = new Browser(t.url);
    stillPlanted.cookie = planted;
    expect((await stillPlanted.get("/auth/me")).status).toBe(401);

    // A real session planted in the victim's browser (the attacker's own) is ended, not upgraded.
    const attacker = new Browser(t.url, "10.2.0.2");
    await attacker.login("mia@example.com", "mia@example.com passphrase");
    const attackersToken = attacker.cookie!;
    const victim = new Browser(t.url, "10.2.0.3");
    victim.cookie = attackersToken;
    const r = await victim.login(rex.email, rex.password);
    expect(r.body.user.email).toBe(rex.email);
    expect(victim.cookie).not.toBe(attackersToken);
    expect((await attacker.get("/auth/me")).status).toBe(401);
    expect((await victim.get<{ user: UserView }>("/auth/me")).body.user.email).toBe(rex.email);
  });

  it("CSRF: a forged form post and a cross-site fetch are refused and change nothing", async () => {
    const count = async () => (await t.client.listProjects({ limit: 100 })).data.length;
    const before = await count();
    const form = await owner.send("POST", "/projects", {
      body: "name=forged",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      origin: "http://evil.example",
    });
    expect(form.status).toBe(403);
    expect(form.body).toMatchObject({ error: { code: "csrf_rejected" } });
    const xfetch = await owner.send("POST", "/projects", {
      json: { name: "forged-fetch" },
      origin: "http://evil.example",
    });
    expect(xfetch.status).toBe(403);
    expect(xfetch.body).toMatchObject({ error: { code: "csrf_rejected" } });
    // No Origin at all: only Sec-Fetch-Site: same-origin vouches for the request.
    const blind = await owner.send("POST", "/projects", { json: { name: "no-origin" }, origin: null });
    expect(blind.status).toBe(403);
    const crossSite = await owner.send("POST", "/projects", {
      json: { name: "cross-site" },
      origin: null,
      headers: { "sec-fetch-site": "cross-site" },
    });
    expect(crossSite.status).toBe(403);
    // Same origin, but a form's content type: refused too (a form cannot send JSON).
    const sameOriginForm = await owner.send("POST", "/projects", {
      body: "name=form",
      headers: { "content-type": "text/plain" },
    });
    expect(sameOriginForm.status).toBe(403);
    const logout = await owner.send("POST", "/auth/logout", { origin: "http://evil.example" });
    expect(logout.status).toBe(403);
    expect((await owner.get("/auth/me")).status).toBe(200);
    expect(await count()).toBe(before);

    expect((await owner.post("/projects", { name: "same-origin" })).status).toBe(201);
    const fetchMeta = await owner.send("POST", "/projects", {
      json: { name: "same-origin-meta" },
      origin: null,
      headers: { "sec-fetch-site": "same-origin" },
    });
    expect(fetchMeta.status).toBe(201);
    // Admin keys are not ambient credentials: unaffected.
    const bearer = await fetch(`${t.url}/api/v1/projects`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${t.ownerKey}`,
        "content-type": "application/json",
        origin: "http://evil.example",
      },
      body: JSON.stringify({ name: "by-key" }),
    });
    expect(bearer.status).toBe(201);
    expect(await count()).toBe(before + 3);
  });

  it("disabling a user ends their open session at once; enabling lets them sign in again", async () => {
    const d = await join("dan@example.com", "member", [projectA]);
    expect((await d.browser.get("/keys")).status).toBe(200);
    const r = await owner.patch<{ user: UserView }>(`/users/${d.user.id}`, { disabled: true });
    expect(r.status).toBe(200);
    expect(r.body.user.disabled_at).toBe(clock.now());
    // Ended on the server, not merely refused: none of their sessions is left.
    expect((await owner.get<{ data: unknown[] }>(`/users/${d.user.id}/sessions`)).body.data).toEqual([]);
    const next = await d.browser.get("/keys");
    expect(next.status).toBe(401);
    expect((await d.browser.get("/auth/me")).status).toBe(401);
    const again = await new Browser(t.url, "10.3.0.1").login(d.user.email, d.password);
    expect(again.status).toBe(401);
    expect(again.body).toMatchObject({ error: { code: "invalid_credentials" } });
    await owner.patch(`/users/${d.user.id}`, { disabled: false, role: "reader", projects: null });
    const back = await new Browser(t.url, "10.3.0.2").login(d.user.email, d.password);
    expect(back.body.user).toMatchObject({ role: "reader", projects: null, disabled_at: null });
    const audit = await t.client.listAudit({ action: "user.disabled", target_id: d.user.id });
    expect(audit.data[0]).toMatchObject({ actor_id: ownerUser.id });
  });

  it("a reset link replaces the password and ends the user's other sessions", async () => {
    const p = await join("pat@example.com", "reader");
    const reset = await owner.post<{ reset_url: string; expires_at: number }>(
      `/users/${p.user.id}/reset-link`,
    );
    expect(reset.status).toBe(201);
    expect(reset.body.expires_at).toBe(clock.now() + HOUR);
    expect(
      (await new Browser(t.url).get(`/auth/invitations/${tokenOf(reset.body.reset_url)}`)).body,
    ).toMatchObject({
      kind: "reset",
      email: "pat@example.com",
    });
    const other = new Browser(t.url, "10.4.0.1");
    const r = await other.accept(reset.body.reset_url, { password: "pat's brand new passphrase" });
    expect(r.status).toBe(200);
    expect((await p.browser.get("/auth/me")).status).toBe(401);
    expect((await other.get("/auth/me")).status).toBe(200);
    expect((await new Browser(t.url, "10.4.0.2").login(p.user.email, p.password)).status).toBe(401);
    expect(
      (await new Browser(t.url, "10.4.0.3").login(p.user.email, "pat's brand new passphrase")).status,
    ).toBe(200);
  });

  it("sessions end after the idle timeout, and a person can end their own", async () => {
    const b = new Browser(t.url, "10.5.0.1");
    await b.login("rex@example.com", "rex@example.com passphrase");
    const second = new Browser(t.url, "10.5.0.2");
    await second.login("rex@example.com", "rex@example.com passphrase");
    const list = await b.get<{ data: Array<{ id: string; current: boolean }> }>("/auth/sessions");
    const other = list.body.data.find((s) => !s.current && s.id)!;
    expect(other).toBeDefined();
    // Ending a session that is not yours is a 404.
    expect((await owner.delete(`/auth/sessions/${other.id}`)).status).toBe(404);
    expect((await b.delete(`/auth/sessions/${other.id}`)).status).toBe(204);
    clock.advance(11 * HOUR);
    expect((await b.get("/auth/me")).status).toBe(200);
    clock.advance(12 * HOUR + 1000);
    expect((await b.get("/auth/me")).status).toBe(401);
    expect((await owner.login(OWNER.email, OWNER.password)).status).toBe(200);
  });

  it("names with markup are stored verbatim and returned as JSON text", async () => {
    const name = `<img src=x onerror="alert(1)">`;
    const x = await join("xss@example.com", "member", [projectA], name);
    expect(x.user.display_name).toBe(name);
    const key = await x.browser.send("POST", `/projects/${projectA}/keys`, {
      json: { name, metadata: { note: "<script>alert(2)</script>" } },
    });
    expect(key.headers.get("content-type")).toMatch(/^application\/json/);
    expect(key.body).toMatchObject({ name, metadata: { note: "<script>alert(2)</script>" } });
    const users = await owner.get<{ data: UserView[] }>("/users");
    expect(users.body.data.find((u) => u.email === "xss@example.com")!.display_name).toBe(name);
  });

  it("every new route is in the OpenAPI document with both security schemes", async () => {
    const doc = (await (await fetch(`${t.url}/api/v1/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { security?: unknown }>>;
      components: { securitySchemes: Record<string, unknown> };
    };
    for (const path of [
      "/api/v1/auth/login",
      "/api/v1/auth/logout",
      "/api/v1/auth/me",
      "/api/v1/auth/invitations/{token}",
      "/api/v1/auth/invitations/{token}/accept",
      "/api/v1/auth/sessions",
      "/api/v1/auth/sessions/{id}",
      "/api/v1/users",
      "/api/v1/users/invitations",
      "/api/v1/users/invitations/{id}",
      "/api/v1/users/{id}",
      "/api/v1/users/{id}/reset-link",
      "/api/v1/users/{id}/sessions",
      "/api/v1/users/{id}/sessions/{sid}",
    ])
      expect(doc.paths[path], path).toBeDefined();
    expect(doc.components.securitySchemes.SessionCookie).toMatchObject({
      in: "cookie",
      name: "keyward_session",
    });
    expect(doc.paths["/api/v1/projects"]!.post!.security).toEqual([{ AdminKey: [] }, { SessionCookie: [] }]);
  });
});
