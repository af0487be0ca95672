import { describe, expect, it } from "vitest";
import { parseWorkers, workersRefusal } from "./workers.js";

describe("parseWorkers", () => {
  it("takes a count, auto (one per core), and one process when unset", () => {
    expect(parseWorkers(undefined, 8)).toBe(1);
    expect(parseWorkers("3", 8)).toBe(3);
    expect(parseWorkers("auto", 8)).toBe(8);
  });

  it.each(["0", "-1", "1.5", "two", "", "1000", "01"])("refuses %j with the accepted forms", (value) => {
    expect(() => parseWorkers(value, 8)).toThrow(/expected a whole number from 1 to 999, or auto/);
  });
});

describe("workersRefusal", () => {
  it("refuses several workers without Redis, because each would count limits on its own", () => {
    expect(workersRefusal(2, undefined)).toMatch(/--workers 2 needs KEYWARD_REDIS_URL/);
    expect(workersRefusal(2, "")).toMatch(/needs KEYWARD_REDIS_URL/);
  });

  it("allows one worker anywhere and several with Redis", () => {
    expect(workersRefusal(1, undefined)).toBeNull();
    expect(workersRefusal(4, "redis://127.0.0.1:6379")).toBeNull();
  });
});
