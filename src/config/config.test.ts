import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.js";

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
