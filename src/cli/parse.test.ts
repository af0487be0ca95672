import { describe, expect, it } from "vitest";
import { CliError } from "./errors.js";
import {
  collect,
  parseClearableList,
  parseDuration,
  parseList,
  parseMetadata,
  parsePermissions,
  parsePositiveInt,
  parseResourceGrant,
  parseSince,
  parseTimestamp,
} from "./parse.js";

/** Runs `fn`, expecting a usage error (exit code 2), and returns its message. */
function usageError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(2);
    return (err as CliError).message;
  }
  throw new Error("expected a usage error");
}

describe("parseDuration", () => {
  it("reads units and bare seconds", () => {
    expect(parseDuration("30d", "--ttl")).toBe(30 * 86400);
    expect(parseDuration("12h", "--ttl")).toBe(43200);
    expect(parseDuration("45m", "--ttl")).toBe(2700);
    expect(parseDuration("3600s", "--ttl")).toBe(3600);
    expect(parseDuration("2w", "--ttl")).toBe(14 * 86400);
    expect(parseDuration("0", "--grace")).toBe(0);
    expect(parseDuration(" 90 ", "--grace")).toBe(90);
  });
  it("refuses anything else, naming the flag", () => {
    for (const bad of ["", "abc", "-1h", "1.5h", "10y", "h", "1d2h", "1e3"]) {
      expect(usageError(() => parseDuration(bad, "--ttl"))).toMatch(/^--ttl: /);
    }
  });
});

describe("parseTimestamp / parseSince", () => {
  it("normalises ISO dates and times to UTC ISO strings", () => {
    expect(parseTimestamp("2030-01-31", "--expires-at")).toBe("2030-01-31T00:00:00.000Z");
    expect(parseTimestamp("2030-01-31T12:00:00Z", "--expires-at")).toBe("2030-01-31T12:00:00.000Z");
    expect(parseTimestamp("2030-01-31T12:00:00+01:00", "--expires-at")).toBe("2030-01-31T11:00:00.000Z");
  });
  it("refuses non-ISO input and days that do not exist", () => {
    for (const bad of ["tomorrow", "1", "31/01/2030", "2030-02-31", "2030-13-01", "2030-01-31T25:00Z"]) {
      expect(usageError(() => parseTimestamp(bad, "--expires-at"))).toMatch(/^--expires-at: /);
    }
  });
  it("reads --since as a duration back from now, or a time", () => {
    const now = Date.parse("2030-01-10T00:00:00Z");
    expect(parseSince("7d", "--since", now)).toBe("2030-01-03T00:00:00.000Z");
    expect(parseSince("2030-01-01", "--since", now)).toBe("2030-01-01T00:00:00.000Z");
    expect(usageError(() => parseSince("last week", "--since", now))).toMatch(/^--since: /);
  });
});

describe("lists and numbers", () => {
  it("splits comma lists, dropping blanks", () => {
    expect(parseList("gpt-4o, gpt-4o-mini*,,", "--models")).toEqual(["gpt-4o", "gpt-4o-mini*"]);
    expect(usageError(() => parseList(" , ", "--models"))).toMatch(/^--models: /);
  });
  it("`none` clears a clearable list", () => {
    expect(parseClearableList("none", "--ips")).toBeNull();
    expect(parseClearableList("NONE", "--ips")).toBeNull();
    expect(parseClearableList("10.0.0.0/8", "--ips")).toEqual(["10.0.0.0/8"]);
  });
  it("parses positive integers only", () => {
    expect(parsePositiveInt("25", "--limit")).toBe(25);
    for (const bad of ["0", "-1", "1.5", "ten", ""]) {
      expect(usageError(() => parsePositiveInt(bad, "--limit"))).toMatch(/^--limit: /);
    }
  });
  it("collects repeated options in order", () => {
    expect(collect("b", collect("a", []))).toEqual(["a", "b"]);
  });
});

describe("parseMetadata", () => {
  it("accepts a JSON object", () => {
    expect(parseMetadata('{"team":"search","n":1}')).toEqual({ team: "search", n: 1 });
  });
  it("refuses invalid JSON and non-objects", () => {
    expect(usageError(() => parseMetadata("{team:1}"))).toMatch(/^--metadata: not valid JSON/);
    for (const bad of ["[1]", "null", '"x"', "3"]) {
      expect(usageError(() => parseMetadata(bad))).toMatch(/must be a JSON object/);
    }
  });
});

describe("permissions", () => {
  it("is undefined when no permission flag was given", () => {
    expect(parsePermissions(undefined, [])).toBeUndefined();
  });
  it("takes all and read_only as they are", () => {
    expect(parsePermissions("all", [])).toEqual({ mode: "all" });
    expect(parsePermissions("read_only", [])).toEqual({ mode: "read_only" });
  });
  it("builds restricted grants; --resource alone implies restricted", () => {
    const expected = { mode: "restricted", resources: { chat_completions: "write", models: "read" } };
    expect(parsePermissions("restricted", ["chat_completions=write", "models=read"])).toEqual(expected);
    expect(parsePermissions(undefined, ["chat_completions=write", "models=read"])).toEqual(expected);
  });
  it("refuses contradictions and unknown names", () => {
    expect(usageError(() => parsePermissions("all", ["models=read"]))).toMatch(
      /only to --permissions restricted/,
    );
    expect(usageError(() => parsePermissions("restricted", []))).toMatch(/at least one --resource/);
    expect(usageError(() => parsePermissions("admin", []))).toMatch(/^--permissions: /);
    expect(usageError(() => parsePermissions(undefined, ["models=read", "models=write"]))).toMatch(/twice/);
  });
  it("parses one grant with clear errors", () => {
    expect(parseResourceGrant("embeddings=none")).toEqual(["embeddings", "none"]);
    expect(usageError(() => parseResourceGrant("models"))).toMatch(/name=level/);
    expect(usageError(() => parseResourceGrant("chat=write"))).toMatch(/unknown resource "chat"/);
    expect(usageError(() => parseResourceGrant("models=admin"))).toMatch(/level "admin"/);
  });
});
