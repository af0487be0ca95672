import { describe, expect, it } from "vitest";
import { containsPattern, KEY_SORTS } from "./list-order.js";

/** What SQL's `lower(x) like pattern escape '\'` would answer, for ASCII text. */
function likeMatches(pattern: string, value: string): boolean {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "\\") re += pattern[++i]!.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    else if (c === "%") re += ".*";
    else if (c === "_") re += ".";
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, "s").test(value.toLowerCase());
}

describe("containsPattern", () => {
  it("matches the text anywhere, ignoring case", () => {
    const p = containsPattern("Billing");
    expect(p).toBe("%billing%");
    expect(likeMatches(p, "payments-BILLING-prod")).toBe(true);
    expect(likeMatches(p, "billin")).toBe(false);
  });

  it("makes %, _ and the escape character match only themselves", () => {
    expect(containsPattern("100%_a\\b")).toBe("%100\\%\\_a\\\\b%");
    const p = containsPattern("a_b");
    expect(likeMatches(p, "x-a_b-y")).toBe(true);
    expect(likeMatches(p, "axb")).toBe(false);
    expect(likeMatches(containsPattern("100%"), "100 percent")).toBe(false);
    expect(likeMatches(containsPattern("100%"), "quota-100%")).toBe(true);
    expect(likeMatches(containsPattern("a\\b"), "a\\b")).toBe(true);
    expect(likeMatches(containsPattern("a\\b"), "ab")).toBe(false);
  });

  it("offers the sorts the API documents, oldest first being the default one", () => {
    expect(KEY_SORTS).toEqual(["created", "-created", "name", "-name"]);
  });
});
