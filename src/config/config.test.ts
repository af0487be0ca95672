import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, usageIsDurable } from "./config.js";

describe("config", () => {
  it("has single-machine defaults", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      host: "127.0.0.1",
      port: 8080,
      dataDir: "./data",
      brand: "kw",
      allowKeyDelete: false,
      trustProxy: false,
      heapTuning: true,
    });
    expect(c.databaseUrl).toBeUndefined();
  });

  it("commits usage before answers end where several processes may serve, unless told otherwise", () => {
    expect(usageIsDurable(loadConfig({}))).toBe(false);
    expect(usageIsDurable(loadConfig({ KEYWARD_DATABASE_URL: "postgres://db/keyward" }))).toBe(true);
    expect(usageIsDurable(loadConfig({ KEYWARD_REDIS_URL: "redis://127.0.0.1:6379" }))).toBe(true);
    expect(usageIsDurable(loadConfig({ KEYWARD_USAGE_DURABLE: "on" }))).toBe(true);
    const pgOff = { KEYWARD_DATABASE_URL: "postgres://db/keyward", KEYWARD_USAGE_DURABLE: "off" };
    expect(usageIsDurable(loadConfig(pgOff))).toBe(false);
    expect(() => loadConfig({ KEYWARD_USAGE_DURABLE: "sometimes" })).toThrow(ConfigError);
  });

  it("reads the shared-limits settings and refuses bad values with the variable named", () => {
    expect(loadConfig({})).toMatchObject({ limitsLeaseMs: 5_000, limitsRedisDown: "local" });
    expect(
      loadConfig({ KEYWARD_LIMITS_LEASE_MS: "2000", KEYWARD_LIMITS_REDIS_DOWN: "closed" }),
    ).toMatchObject({
      limitsLeaseMs: 2_000,
      limitsRedisDown: "closed",
    });
    expect(() => loadConfig({ KEYWARD_LIMITS_REDIS_DOWN: "open" })).toThrow(
      /KEYWARD_LIMITS_REDIS_DOWN \(limitsRedisDown\)/,
    );
    expect(() => loadConfig({ KEYWARD_LIMITS_LEASE_MS: "10" })).toThrow(/KEYWARD_LIMITS_LEASE_MS/);
  });

  it("reads KEYWARD_* env and lets flags override", () => {
    const env = {
      KEYWARD_PORT: "9000",
      KEYWARD_DATABASE_URL: "postgres://u@h/db",
      KEYWARD_ALLOW_KEY_DELETE: "true",
    };
    expect(loadConfig(env)).toMatchObject({
      port: 9000,
      databaseUrl: "postgres://u@h/db",
      allowKeyDelete: true,
    });
    expect(loadConfig(env, { port: 7000 }).port).toBe(7000);
  });

  it("reads the conventional proxy variables (lower case wins) and checks them", () => {
    expect(
      loadConfig({
        HTTP_PROXY: "http://upper:3128",
        http_proxy: "http://lower:3128",
        NO_PROXY: "localhost,.corp",
      }),
    ).toMatchObject({ httpProxy: "http://lower:3128", noProxy: "localhost,.corp" });
    expect(loadConfig({ HTTPS_PROXY: "http://p:3128" }).httpsProxy).toBe("http://p:3128");
    expect(() => loadConfig({ HTTPS_PROXY: "socks9://p" })).toThrow(/HTTPS_PROXY/);
  });

  it("sets explicit request timeouts, and refuses a request timeout below the headers timeout", () => {
    expect(loadConfig({})).toMatchObject({ headersTimeoutMs: 15_000, requestTimeoutMs: 300_000 });
    expect(() =>
      loadConfig({ KEYWARD_HEADERS_TIMEOUT_MS: "20000", KEYWARD_REQUEST_TIMEOUT_MS: "1000" }),
    ).toThrow(/KEYWARD_REQUEST_TIMEOUT_MS \(requestTimeoutMs\): must be at least headersTimeoutMs/);
  });

  it("reads yes/no settings as true/false/1/0 and refuses anything else", () => {
    expect(loadConfig({ KEYWARD_HEAP_TUNING: "false", KEYWARD_TRUST_PROXY: "1" })).toMatchObject({
      heapTuning: false,
      trustProxy: true,
    });
    expect(loadConfig({ KEYWARD_HEAP_TUNING: "0" }).heapTuning).toBe(false);
    expect(() => loadConfig({ KEYWARD_HEAP_TUNING: "off" })).toThrow(/KEYWARD_HEAP_TUNING \(heapTuning\)/);
  });

  it("names the variable, never the value, when one is invalid", () => {
    expect(() => loadConfig({ KEYWARD_PORT: "99999" })).toThrow(ConfigError);
    expect(() => loadConfig({ KEYWARD_PORT: "99999" })).toThrow(/KEYWARD_PORT \(port\)/);
    let message = "";
    try {
      loadConfig({ KEYWARD_KEY_PEPPER: "short-secret" });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/KEYWARD_KEY_PEPPER/);
    expect(message).not.toContain("short-secret");
    expect(() => loadConfig({ KEYWARD_DATABASE_URL: "mysql://x" })).toThrow(/postgres/);
  });
});
