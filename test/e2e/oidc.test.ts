import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/harness.js";

/** A CI's OIDC issuer, as the test runs it: discovery document, JWKS, and real signatures. */
interface TestIssuer {
  url: string;
  sign(
    claims: Record<string, unknown>,
    opts?: { alg?: "RS256" | "ES256"; key?: CryptoKey; kid?: string },
  ): Promise<string>;
  close(): Promise<void>;
}

async function startIssuer(): Promise<TestIssuer> {
  const rsa = await generateKeyPair("RS256");
  const ec = await generateKeyPair("ES256");
  const jwks: { keys: JWK[] } = {
    keys: [
      { ...(await exportJWK(rsa.publicKey)), kid: "rsa-1", alg: "RS256", use: "sig" },
      { ...(await exportJWK(ec.publicKey)), kid: "ec-1", alg: "ES256", use: "sig" },
    ],
  };
  let url = "";
  const server = http.createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    if (req.url === "/.well-known/openid-configuration")
      return res.end(JSON.stringify({ issuer: url, jwks_uri: `${url}/jwks` }));
    if (req.url === "/jwks") return res.end(JSON.stringify(jwks));
    res.writeHead(404).end("{}");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    async sign(claims, opts = {}) {
      const alg = opts.alg ?? "RS256";
      const key = opts.key ?? (alg === "RS256" ? rsa.privateKey : ec.privateKey);
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({
        iss: url,
        aud: "keyward",
        iat: now,
        nbf: now,
        exp: now + 300,
        jti: crypto.randomUUID(),
        ...claims,
      })
        .setProtectedHeader({ alg, kid: opts.kid ?? (alg === "RS256" ? "rsa-1" : "ec-1"), typ: "JWT" })
        .sign(key);
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");

describe("OIDC exchange: trusted CI identities mint ephemeral keys", () => {
  let issuer: TestIssuer;
  let t: TestServer;
  let projectId: string;
  let policyId: string;
  const main = {
    sub: "repo:acme/app:ref:refs/heads/main",
    repository: "acme/app",
    ref: "refs/heads/main",
    run_id: "99",
    actor: "octocat",
  };

  async function exchange(token: string, extra: Record<string, unknown> = {}) {
    const res = await fetch(`${t.url}/api/v1/oidc/exchange`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token, ...extra }),
    });
    return {
      status: res.status,
      body: (await res.json()) as Record<string, unknown> & { error?: { message: string } },
    };
  }
  const refusals = async () =>
    (await t.client.listAudit({ action: "oidc.exchange_refused", limit: 100 })).data.length;

  beforeAll(async () => {
    issuer = await startIssuer();
    t = await startTestServer("sqlite", { logLevel: "silent" });
    projectId = (await t.client.createProject({ name: "ci" })).id;
    const res = await fetch(`${t.url}/api/v1/projects/${projectId}/trust-policies`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${t.ownerKey}` },
      body: JSON.stringify({
        name: "main branch",
        issuer: issuer.url,
        audience: "keyward",
        conditions: { repository: "acme/app", ref: "refs/heads/main" },
        grant: { allowed_models: ["gpt-4o-mini"], max_ttl_seconds: 1800, budget_usd: 3, rpm: 120 },
      }),
    });
    expect(res.status).toBe(201);
    policyId = ((await res.json()) as { id: string }).id;
  });
  afterAll(async () => {
    await t?.stop();
    await issuer?.close();
  });

  it("a token matching the policy (RS256 or ES256) gets a key with the policy's grant and the run's claims", async () => {
    for (const alg of ["RS256", "ES256"] as const) {
      const r = await exchange(await issuer.sign(main, { alg }), { ttl_seconds: 7200 });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({
        project_id: projectId,
        allowed_models: ["gpt-4o-mini"],
        limits: { rpm: 120, budget: { usd: 3, period: "lifetime" } },
        created_by: policyId,
        metadata: {
          keyward_run: { repository: "acme/app", ref: "refs/heads/main", run_id: "99", actor: "octocat" },
        },
      });
      // Asked for 2 h; the policy allows 30 min.
      const ttl = Date.parse(r.body.expires_at as string) - Date.now();
      expect(ttl).toBeGreaterThan(1790_000);
      expect(ttl).toBeLessThanOrEqual(1800_000);
      expect((await t.client.verifyKey({ key: r.body.key as string })).code).toBe("VALID");
    }
  });

  it("the key can revoke itself", async () => {
    const { body } = await exchange(await issuer.sign(main));
    const res = await fetch(`${t.url}/api/v1/keys/self/revoke`, {
      method: "POST",
      headers: { authorization: `Bearer ${body.key as string}` },
    });
    expect(res.status).toBe(200);
    expect((await t.client.verifyKey({ key: body.key as string })).code).toBe("REVOKED");
  });

  const attacks: Array<[string, () => Promise<string>, number, RegExp]> = [
    [
      "a bad signature (another key, the issuer's kid)",
      async () => issuer.sign(main, { key: (await generateKeyPair("RS256")).privateKey }),
      401,
      /not valid: bad signature/,
    ],
    [
      "alg: none",
      async () =>
        `${b64url({ alg: "none", typ: "JWT" })}.${b64url({ ...main, iss: issuer.url, aud: "keyward", exp: Date.now() / 1000 + 300, jti: "n1" })}.`,
      401,
      /alg none are not accepted/,
    ],
    [
      "HS256 signed with the issuer's public key (key confusion)",
      async () => {
        const pub = (await fetch(`${issuer.url}/jwks`).then((r) => r.json())) as { keys: JWK[] };
        return new SignJWT({
          ...main,
          iss: issuer.url,
          aud: "keyward",
          exp: Math.floor(Date.now() / 1000) + 300,
          jti: "h1",
        })
          .setProtectedHeader({ alg: "HS256", kid: "rsa-1" })
          .sign(new TextEncoder().encode(JSON.stringify(pub.keys[0])));
      },
      401,
      /alg HS256 are not accepted/,
    ],
    [
      "an issuer no policy trusts",
      async () => issuer.sign({ ...main, iss: "https://evil.example" }),
      403,
      /no trust policy for issuer/,
    ],
    [
      "the wrong audience",
      async () => issuer.sign({ ...main, aud: "someone-else" }),
      403,
      /match no trust policy/,
    ],
    [
      "an expired token",
      async () => issuer.sign({ ...main, exp: Math.floor(Date.now() / 1000) - 120 }),
      401,
      /expired/,
    ],
    [
      "a token not valid yet",
      async () => issuer.sign({ ...main, nbf: Math.floor(Date.now() / 1000) + 600 }),
      401,
      /nbf/,
    ],
    ["a token without jti", async () => issuer.sign({ ...main, jti: undefined }), 401, /jti/],
    [
      "claims that match no policy (another branch)",
      async () => issuer.sign({ ...main, ref: "refs/heads/feature" }),
      403,
      /match no trust policy/,
    ],
    [
      "claims that match no policy (another repository)",
      async () => issuer.sign({ ...main, repository: "acme/app-fork" }),
      403,
      /match no trust policy/,
    ],
  ];
  it.each(attacks)("refuses %s, mints nothing, and audits it", async (_name, token, status, message) => {
    const before = await refusals();
    const keysBefore = (await t.client.listKeys({ project_id: projectId, limit: 100 })).data.length;
    const r = await exchange(await token());
    expect(r.status).toBe(status);
    expect(r.body.error?.message).toMatch(message);
    expect(await refusals()).toBe(before + 1);
    expect((await t.client.listKeys({ project_id: projectId, limit: 100 })).data.length).toBe(keysBefore);
  });

  it("refuses a replayed token (the same jti twice)", async () => {
    const token = await issuer.sign(main);
    expect((await exchange(token)).status).toBe(201);
    const again = await exchange(token);
    expect(again.status).toBe(401);
    expect(again.body.error?.message).toMatch(/already exchanged/);
  });

  it("never writes the token into the audit log", async () => {
    const token = await issuer.sign({ ...main, ref: "refs/heads/x" });
    await exchange(token);
    const audit = JSON.stringify((await t.client.listAudit({ limit: 100 })).data);
    expect(audit).not.toContain(token.split(".")[2]!);
  });

  it("keyward run --oidc: no admin key anywhere; GitHub's token endpoint, the exchange, and self-revocation", async () => {
    const token = await issuer.sign({ ...main, run_id: "123" });
    const asked: string[] = [];
    const github = http.createServer((req, res) => {
      asked.push(
        `${req.headers.authorization} ${new URL(req.url!, "http://x").searchParams.get("audience")}`,
      );
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ value: token }));
    });
    await new Promise<void>((r) => github.listen(0, "127.0.0.1", r));
    const tmp = mkdtempSync(path.join(tmpdir(), "kw-oidc-run-"));
    try {
      const out = path.join(tmp, "key");
      const root = fileURLToPath(new URL("../..", import.meta.url));
      const script = `require("fs").writeFileSync(${JSON.stringify(out)}, process.env.OPENAI_API_KEY)`;
      const code = await new Promise<number>((resolve) =>
        execFile(
          process.execPath,
          [path.join(root, "bin", "keyward.js"), "run", "--oidc", "--ttl", "10m", "--", "node", "-e", script],
          {
            cwd: root,
            env: {
              PATH: process.env.PATH ?? "",
              KEYWARD_URL: t.url,
              ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${(github.address() as AddressInfo).port}/token?api-version=2.0`,
              ACTIONS_ID_TOKEN_REQUEST_TOKEN: "runner-request-token",
            },
          },
          (err) => resolve(err ? (typeof err.code === "number" ? err.code : -1) : 0),
        ),
      );
      expect(code).toBe(0);
      expect(asked).toEqual(["bearer runner-request-token keyward"]);
      const key = readFileSync(out, "utf8");
      expect((await t.client.verifyKey({ key })).code).toBe("REVOKED");
    } finally {
      github.close();
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("keyward trust add/list/delete manage policies from the CLI, and refuse a policy without conditions", async () => {
    const root = fileURLToPath(new URL("../..", import.meta.url));
    const cli = (...args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(
          process.execPath,
          [path.join(root, "bin", "keyward.js"), "trust", ...args],
          {
            cwd: root,
            env: { PATH: process.env.PATH ?? "", KEYWARD_URL: t.url, KEYWARD_ADMIN_KEY: t.ownerKey },
          },
          (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
        ),
      );
    const add = await cli(
      "add",
      "--project",
      projectId,
      "--name",
      "any tag",
      "--issuer",
      "github",
      "--claim",
      "ref=refs/tags/*",
      "--max-ttl",
      "30m",
      "--json",
    );
    expect(add.code).toBe(0);
    const created = JSON.parse(add.stdout) as {
      id: string;
      issuer: string;
      grant: { max_ttl_seconds: number };
    };
    expect(created).toMatchObject({
      issuer: "https://token.actions.githubusercontent.com",
      grant: { max_ttl_seconds: 1800 },
    });
    expect((await cli("list", "--project", projectId)).stdout).toContain("ref=refs/tags/*");
    expect((await cli("add", "--project", projectId, "--name", "x", "--issuer", "github")).code).toBe(2);
    expect((await cli("delete", created.id)).code).toBe(0);
    expect((await cli("list", "--project", projectId)).stdout).not.toContain(created.id);
  });
});
