import { describe, expect, it } from "vitest";
import { runContext, runKeyName } from "./ci-context.js";
import { createBody, parseKeywardRef } from "./key-spec.js";

describe("keyward:// references", () => {
  it("read the project (case kept) and every option", () => {
    expect(
      parseKeywardRef(
        "keyward://proj_01AbC?ttl=2h&models=gpt-4o-mini,gpt-4o&rpm=60&budget_usd=2.5&ips=10.0.0.0/8",
        "x",
      ),
    ).toEqual({
      project: "proj_01AbC",
      ttlSeconds: 7200,
      name: undefined,
      models: ["gpt-4o-mini", "gpt-4o"],
      ips: ["10.0.0.0/8"],
      permissions: undefined,
      budgetUsd: 2.5,
      rpm: 60,
    });
    expect(parseKeywardRef("keyward://proj_x", "x").ttlSeconds).toBe(3600);
  });

  it("refuse what they cannot mean, naming the line", () => {
    expect(() => parseKeywardRef("keyward://proj_x?colour=red", ".env: K")).toThrow(
      /\.env: K: unknown option "colour"/,
    );
    expect(() => parseKeywardRef("keyward://proj_x?ttl=5s", ".env: K")).toThrow(/at least 60s/);
    expect(() => parseKeywardRef("keyward://proj_x/extra", ".env: K")).toThrow(/looks like keyward:\/\//);
    expect(() => parseKeywardRef("keyward://proj_x?budget_usd=-1", ".env: K")).toThrow(/positive amount/);
  });

  it("become a create body with a lifetime budget", () => {
    expect(createBody({ project: "p", ttlSeconds: 600, budgetUsd: 1 }, "n", { a: 1 })).toEqual({
      name: "n",
      ephemeral: true,
      ttl_seconds: 600,
      metadata: { a: 1 },
      limits: { budget: { usd: 1, period: "lifetime" } },
    });
  });
});

describe("the run's context", () => {
  it("comes from GitLab CI's variables, and names the key", () => {
    const ctx = runContext({
      GITLAB_CI: "true",
      CI_PROJECT_PATH: "acme/api",
      CI_COMMIT_REF_NAME: "main",
      CI_JOB_NAME: "test",
      CI_PIPELINE_ID: "77",
      GITLAB_USER_LOGIN: "dev",
      CI_JOB_TOKEN: "secret-not-read",
    });
    expect(ctx).toEqual({
      ci_provider: "gitlab_ci",
      repository: "acme/api",
      ref: "main",
      workflow: "test",
      run_id: "77",
      actor: "dev",
    });
    expect(runKeyName(ctx, "npm test")).toBe("run acme/api#77: npm test");
    expect(runContext({ CI: "true" })).toEqual({ ci_provider: "ci" });
    expect(runContext({ USER: "ana" })).toEqual({ ci_provider: "local", actor: "ana" });
  });
});
