import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyWebhook } from "../../src/alerts/signature.js";
import type { DestinationInput } from "../../src/destinations/model.js";
import type { SecretPushPayload } from "../../src/destinations/webhook.js";
import { ManualClock } from "../../src/core/clock.js";
import { parseMasterKey, type MasterKey } from "../../src/crypto/master-key.js";
import { SecretBox } from "../../src/crypto/secret-box.js";
import { openCredentials, sealCredentials } from "../../src/destinations/model.js";
import { reencryptDestinations } from "../../src/destinations/rekey.js";
import { startTestServer, testDialects, type TestServer } from "../support/harness.js";
import { startMockUpstream, type MockUpstream } from "../support/mock-upstream.js";
import { SecretsManagerStandIn, VaultStandIn } from "../support/secret-managers.js";
import { WebhookReceiver } from "../support/webhook-receiver.js";

const VAULT_TOKEN = "hvs.rotation-push-test-token";
const AWS = {
  region: "eu-west-1",
  accessKeyId: "AKIAKEYWARDTEST00001",
  secretAccessKey: "aws-secret-key-for-the-stand-in",
};

/**
 * Rotation push end to end: keyward writes each new secret to a Vault KV v2 and an AWS Secrets
 * Manager stand-in through its real clients (HTTP for Vault, the AWS SDK with SigV4 for AWS) and
 * to a signed webhook; an application that re-reads the secret manager keeps working through a
 * rotation; a destination that is down is retried on the schedule and alerted.
 */
describe.each(testDialects())("rotation push (%s)", (dialect) => {
  const clock = new ManualClock(Date.UTC(2026, 11, 1, 9));
  let mock: MockUpstream;
  let t: TestServer;
  let vault: VaultStandIn;
  let aws: SecretsManagerStandIn;
  let projectId: string;

  const vaultDestination = (path: string): DestinationInput => ({
    kind: "vault_kv2",
    address: vault.url,
    path,
    token: VAULT_TOKEN,
  });
  const awsDestination = (secretId: string, jsonKey?: string): DestinationInput => ({
    kind: "aws_secrets_manager",
    region: AWS.region,
    secret_id: secretId,
    endpoint: aws.url,
    access_key_id: AWS.accessKeyId,
    secret_access_key: AWS.secretAccessKey,
    ...(jsonKey ? { json_key: jsonKey } : {}),
  });
  const audit = async (keyId: string) =>
    (await t.client.listAudit({ target_id: keyId, limit: 100 })).data.map((e) => ({
      action: e.action,
      changes: e.changes,
    }));

  beforeAll(async () => {
    mock = await startMockUpstream();
    vault = await new VaultStandIn(VAULT_TOKEN).listen();
    aws = await new SecretsManagerStandIn(AWS.accessKeyId, AWS.region).listen();
    t = await startTestServer(dialect, {
      clock,
      logLevel: "silent",
      config: {
        upstreamBaseUrl: mock.url,
        upstreamApiKey: "sk-mock-provider",
        secretPushIntervalMs: 0,
        alertDispatchMs: 0,
        alertSweepMs: 0,
        secretPushTimeoutMs: 2000,
      },
    });
    projectId = (await t.client.createProject({ name: "billing" })).id;
  });
  afterAll(async () => {
    await t?.stop();
    await Promise.all([mock?.close(), vault?.close(), aws?.close()]);
  });

  it("writes the secret on create and on rotate; an app re-reading the managers never fails across the rotation", async () => {
    vault.secrets.set("apps/billing", { data: { DATABASE_URL: "postgres://app" }, version: 1 });
    aws.secrets.set("prod/billing", {
      value: JSON.stringify({ OTHER: "kept" }),
      versions: new Map(),
      current: "v0",
    });
    const created = await t.client.createKey(projectId, {
      name: "billing-app",
      destinations: [
        vaultDestination("apps/billing"),
        awsDestination("prod/billing", "OPENAI_API_KEY"),
        awsDestination("prod/billing-plain"),
      ],
    });
    expect(created.destinations).toHaveLength(3);
    expect(created.pushes?.map((p) => p.status)).toEqual(["delivered", "delivered", "delivered"]);
    // Vault: the field merged in, the secret's other fields kept. AWS: merged into the JSON
    // secret, and a plain secret created (CreateSecret) since it did not exist.
    expect(vault.secrets.get("apps/billing")?.data).toEqual({
      DATABASE_URL: "postgres://app",
      OPENAI_API_KEY: created.key,
    });
    expect(JSON.parse(aws.value("prod/billing")!)).toEqual({ OTHER: "kept", OPENAI_API_KEY: created.key });
    expect(aws.value("prod/billing-plain")).toBe(created.key);
    expect(aws.signatureProblems).toEqual([]);
    const signed = aws.requests.map((r) => r.headers["x-amz-target"]);
    expect(signed).toEqual(
      expect.arrayContaining([
        "secretsmanager.GetSecretValue",
        "secretsmanager.PutSecretValue",
        "secretsmanager.CreateSecret",
      ]),
    );

    // The application: every request re-reads the secret manager, then calls the gateway with
    // the official SDK. It runs until told to stop, alternating between Vault and AWS.
    const sm = new SecretsManagerClient({
      region: AWS.region,
      endpoint: aws.url,
      credentials: { accessKeyId: AWS.accessKeyId, secretAccessKey: AWS.secretAccessKey },
    });
    const readVault = async () => {
      const res = await fetch(`${vault.url}/v1/secret/data/apps/billing`, {
        headers: { "x-vault-token": VAULT_TOKEN },
      });
      return ((await res.json()) as { data: { data: { OPENAI_API_KEY: string } } }).data.data.OPENAI_API_KEY;
    };
    const readAws = async () =>
      (await sm.send(new GetSecretValueCommand({ SecretId: "prod/billing-plain" }))).SecretString!;
    const app = { ok: 0, failed: [] as string[], keysUsed: new Set<string>(), iterations: 0, stop: false };
    const loop = (async () => {
      while (!app.stop) {
        const key = app.iterations % 2 === 0 ? await readVault() : await readAws();
        app.keysUsed.add(key);
        try {
          const sdk = new OpenAI({ apiKey: key, baseURL: `${t.url}/v1`, maxRetries: 0 });
          await sdk.chat.completions.create({
            model: "gpt-4o-mini",
            messages: [{ role: "user", content: "hi" }],
          });
          app.ok++;
        } catch (err) {
          app.failed.push(String(err));
        }
        app.iterations++;
      }
    })();
    const afterIterations = async (n: number) => {
      const target = app.iterations + n;
      await expect.poll(() => app.iterations, { timeout: 15_000 }).toBeGreaterThanOrEqual(target);
    };

    await afterIterations(10);
    const rotated = await t.client.rotateKey(created.id, 300);
    expect(rotated.pushes?.map((p) => p.status)).toEqual(["delivered", "delivered", "delivered"]);
    expect(vault.field("apps/billing", "OPENAI_API_KEY")).toBe(rotated.key);
    expect(aws.value("prod/billing-plain")).toBe(rotated.key);
    // Iterations that started after the rotation read the new secret; then the grace ends.
    await afterIterations(10);
    clock.advance(301_000);
    await afterIterations(10);
    app.stop = true;
    await loop;
    sm.destroy();

    expect(app.failed).toEqual([]);
    expect(app.ok).toBeGreaterThanOrEqual(30);
    expect(app.keysUsed).toEqual(new Set([created.key, rotated.key]));
    expect((await t.client.verifyKey({ key: created.key })).valid).toBe(false);
    expect((await t.client.verifyKey({ key: rotated.key })).valid).toBe(true);

    const actions = (await audit(created.id)).map((e) => e.action);
    expect(actions.filter((a) => a === "key.destination_added")).toHaveLength(3);
    expect(actions.filter((a) => a === "key.secret_pushed")).toHaveLength(6);
    const all = JSON.stringify(await audit(created.id));
    for (const secret of [created.key, rotated.key, VAULT_TOKEN, AWS.secretAccessKey])
      expect(all).not.toContain(secret);
  });

  it("retries a destination that is down, alerts, and catches up with the newest secret only", async () => {
    const receiver = await new WebhookReceiver().listen();
    const hook = await t.client.createWebhook({ url: receiver.url, event_types: ["key.secret_push_failed"] });
    const created = await t.client.createKey(projectId, {
      name: "down",
      destinations: [vaultDestination("apps/down")],
    });
    expect(created.pushes?.[0]?.status).toBe("delivered");

    vault.down = true;
    const first = await t.client.rotateKey(created.id, 3600);
    expect(first.pushes?.[0]).toMatchObject({
      status: "pending",
      attempts: 1,
      last_error: "HTTP 503: Vault is sealed",
    });
    expect(vault.field("apps/down", "OPENAI_API_KEY")).toBe(created.key);
    // The failure is audited and becomes an alert: delivered to the subscribed webhook.
    await t.ctx.alerting.tailer.runOnce();
    await t.ctx.alerting.dispatcher.runOnce();
    const alert = receiver.accepted.find((d) => d.payload.type === "key.secret_push_failed");
    expect(alert?.payload.text).toContain("could not write the new secret");
    expect(alert?.payload.text).toContain("HTTP 503: Vault is sealed");
    expect(alert?.payload.text).toContain("the old secret stops working at");
    expect(alert?.rawBody).not.toContain(first.key);

    // Not due before its retry time; a retry while still down fails again.
    expect(await t.ctx.secretPusher.runOnce()).toBe(0);
    clock.advance(13_000);
    expect(await t.ctx.secretPusher.runOnce()).toBe(1);
    // A second rotation supersedes the first push: the destination never gets an older secret.
    const second = await t.client.rotateKey(created.id, 3600);
    expect(second.pushes?.[0]).toMatchObject({ status: "pending", attempts: 1 });
    const rows = await t.ctx.store.db
      .selectFrom("secret_pushes")
      .selectAll()
      .where("key_id", "=", created.id)
      .orderBy("created_at")
      .orderBy("id")
      .execute();
    expect(rows.map((r) => r.status)).toEqual(["delivered", "superseded", "pending"]);
    expect(rows[1]!.secret_cipher).toBeNull();

    vault.down = false;
    clock.advance(13_000);
    expect(await t.ctx.secretPusher.runOnce()).toBe(1);
    expect(vault.field("apps/down", "OPENAI_API_KEY")).toBe(second.key);
    const [dest] = (await t.client.listDestinations(created.id)).data;
    expect(dest?.last_push).toMatchObject({ status: "delivered", attempts: 2, last_error: null });
    const after = await t.ctx.store.db
      .selectFrom("secret_pushes")
      .select("secret_cipher")
      .where("key_id", "=", created.id)
      .execute();
    expect(after.every((r) => r.secret_cipher === null)).toBe(true);
    const actions = (await audit(created.id)).map((e) => e.action);
    expect(actions.filter((a) => a === "key.secret_push_failed")).toHaveLength(3);
    await t.client.deleteWebhook(hook.id);
    await receiver.close();
  });

  it("gives up after the retry schedule (about a day), with a final alert, and erases the secret", async () => {
    const created = await t.client.createKey(projectId, {
      name: "gone",
      destinations: [vaultDestination("apps/gone")],
    });
    vault.down = true;
    await t.client.rotateKey(created.id, 0);
    for (let i = 0; i < 12; i++) {
      clock.advance(10 * 3600_000);
      await t.ctx.secretPusher.runOnce();
    }
    vault.down = false;
    const [dest] = (await t.client.listDestinations(created.id)).data;
    expect(dest?.last_push).toMatchObject({
      status: "failed",
      attempts: 11,
      last_error: "HTTP 503: Vault is sealed",
    });
    const row = await t.ctx.store.db
      .selectFrom("secret_pushes")
      .selectAll()
      .where("id", "=", dest!.last_push!.id)
      .executeTakeFirstOrThrow();
    expect(row.secret_cipher).toBeNull();
    const failures = (await audit(created.id)).filter((e) => e.action === "key.secret_push_failed");
    expect(failures).toHaveLength(11);
    expect(failures.filter((e) => e.changes.final === true)).toHaveLength(1);
  });

  it("signs webhook destinations, shows their signing secret once, and cancels pushes of a revoked key", async () => {
    const receiver = await new WebhookReceiver().listen();
    const created = await t.client.createKey(projectId, {
      name: "hooked",
      destinations: [{ kind: "webhook", url: receiver.url }],
    });
    const secret = created.destinations?.[0]?.signing_secret;
    expect(secret).toMatch(/^whsec_/);
    expect(JSON.stringify(await t.client.listDestinations(created.id))).not.toContain(secret);
    const d = receiver.received[0]!;
    const check = verifyWebhook({
      secret: secret!,
      id: d.headers["keyward-webhook-id"] as string,
      timestamp: d.headers["keyward-webhook-timestamp"] as string,
      signature: d.headers["keyward-signature"] as string,
      rawBody: d.rawBody,
      nowSeconds: Math.floor(clock.now() / 1000),
    });
    expect(check).toEqual({ ok: true });
    const payload = JSON.parse(d.rawBody) as SecretPushPayload;
    expect(payload).toMatchObject({
      type: "key.secret",
      key_id: created.id,
      reason: "created",
      secret: created.key,
    });

    receiver.status = 500;
    await t.client.rotateKey(created.id, 60);
    await t.client.revokeKey(created.id, "done");
    receiver.status = 200;
    clock.advance(13_000);
    await t.ctx.secretPusher.runOnce();
    const [dest] = (await t.client.listDestinations(created.id)).data;
    expect(dest?.last_push).toMatchObject({ status: "cancelled" });
    expect(receiver.received).toHaveLength(2);
    await receiver.close();
  });

  it("refuses bad destinations with a clear 400 and creates nothing; a wrong credential is a failed push, not a crash", async () => {
    const before = (await t.client.listKeys({ project_id: projectId, limit: 100 })).data.length;
    const bad: Array<[DestinationInput, string]> = [
      [{ kind: "vault_kv2", address: "http://vault.example.com:8200", path: "a", token: "x" }, "address"],
      [{ kind: "vault_kv2", address: vault.url, path: "../sys/raw", token: "x" }, "path"],
      [{ ...awsDestination("s"), region: "mars" } as DestinationInput, "region"],
      [
        { kind: "aws_secrets_manager", region: "eu-west-1", secret_id: "s", access_key_id: "AKIA" },
        "secret_access_key",
      ],
      [{ kind: "webhook", url: "ftp://example.com/x" }, "url"],
    ];
    for (const [destination, path] of bad) {
      const err = await t.client
        .createKey(projectId, { name: "bad", destinations: [destination] })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 400, code: "invalid_request" });
      expect(JSON.stringify(err)).toContain(path);
    }
    const tooMany = Array.from({ length: 6 }, () => vaultDestination("apps/x"));
    await expect(t.client.createKey(projectId, { name: "bad", destinations: tooMany })).rejects.toMatchObject(
      { status: 400 },
    );
    expect((await t.client.listKeys({ project_id: projectId, limit: 100 })).data.length).toBe(before);

    const wrong = await t.client.createKey(projectId, {
      name: "wrong-creds",
      destinations: [
        { ...vaultDestination("apps/wrong"), token: "hvs.wrong" } as DestinationInput,
        { ...awsDestination("prod/wrong"), access_key_id: "AKIAWRONGWRONGWRONG1" } as DestinationInput,
      ],
    });
    expect(wrong.pushes?.map((p) => p.status)).toEqual(["pending", "pending"]);
    const errorOf = (kind: string) => {
      const id = wrong.destinations?.find((d) => d.config.kind === kind)?.id;
      return wrong.pushes?.find((p) => p.destination_id === id)?.last_error;
    };
    expect(errorOf("vault_kv2")).toBe("HTTP 403: permission denied");
    expect(errorOf("aws_secrets_manager")).toContain("InvalidSignatureException");

    // Credentials at rest: sealed; the API never returns them.
    const rows = await t.ctx.store.db.selectFrom("key_destinations").selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(VAULT_TOKEN);
    expect(JSON.stringify(rows)).not.toContain(AWS.secretAccessKey);
    expect(JSON.stringify(await t.client.listDestinations(wrong.id))).not.toContain("hvs.wrong");

    // Adding and removing a destination on an existing key, audited.
    const added = await t.client.addDestination(wrong.id, vaultDestination("apps/later"));
    expect(added.last_push).toBeNull();
    await t.client.removeDestination(wrong.id, added.id);
    expect((await t.client.listDestinations(wrong.id)).data).toHaveLength(2);
    const actions = (await audit(wrong.id)).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(["key.destination_added", "key.destination_removed"]));
  });

  it("re-seals destination credentials under the current master key after a master key change", async () => {
    const created = await t.client.createKey(projectId, {
      name: "rekey",
      destinations: [vaultDestination("apps/rekey")],
    });
    const id = created.destinations![0]!.id;
    const previous = parseMasterKey(Buffer.alloc(32, 7).toString("base64"), "previous");
    const box = (current: MasterKey, prev: MasterKey | null) =>
      new SecretBox({ current, previous: prev, source: "config", file: null });
    const credentials = { kind: "vault_kv2" as const, token: VAULT_TOKEN };
    // As if sealed before the change: under the key that is now the previous one.
    const oldBox = box(previous, null);
    await t.ctx.store.db
      .updateTable("key_destinations")
      .set({ credentials_cipher: sealCredentials(oldBox, id, credentials) })
      .where("id", "=", id)
      .execute();
    const both = box(t.ctx.masterKeys.current, previous);
    const r = await reencryptDestinations(t.ctx.store, both, clock.now());
    expect(r).toEqual({ rotated: 1, unreadable: [] });
    const row = await t.ctx.store.db
      .selectFrom("key_destinations")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    expect(openCredentials(box(t.ctx.masterKeys.current, null), row)).toEqual(credentials);
    expect(await reencryptDestinations(t.ctx.store, both, clock.now())).toEqual({
      rotated: 0,
      unreadable: [],
    });
  });
});
