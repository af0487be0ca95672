import { describe, expect, it } from "vitest";
import { CliError } from "../errors.js";
import { parseSize, resolveBrands } from "./scan.js";

describe("scan flag parsing", () => {
  it("--max-file-size takes bytes or k/M/G (powers of 1024); 0 means no limit", () => {
    expect(parseSize("0", "--max-file-size")).toBe(0);
    expect(parseSize("512", "--max-file-size")).toBe(512);
    expect(parseSize("64k", "--max-file-size")).toBe(64 * 1024);
    expect(parseSize("50M", "--max-file-size")).toBe(50 * 1024 ** 2);
    expect(parseSize("1GiB", "--max-file-size")).toBe(1024 ** 3);
    expect(() => parseSize("lots", "--max-file-size")).toThrow(CliError);
    expect(() => parseSize("-1", "--max-file-size")).toThrow(/not a size/);
  });

  it("brands: flags, else KEYWARD_KEY_PREFIX, else kw; validated like the server's config", () => {
    expect(resolveBrands([], {})).toEqual(["kw"]);
    expect(resolveBrands([], { KEYWARD_KEY_PREFIX: "acme" })).toEqual(["acme"]);
    expect(resolveBrands(["acme", "kw", "acme"], { KEYWARD_KEY_PREFIX: "x" })).toEqual(["acme", "kw"]);
    let err: unknown;
    try {
      resolveBrands(["Bad|brand"], {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(2);
  });
});
