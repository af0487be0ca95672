import { describe, expect, it } from "vitest";
import { SerialQueue } from "./background.js";

describe("SerialQueue", () => {
  it("runs tasks one at a time, in order, past failures", async () => {
    const q = new SerialQueue();
    const log: string[] = [];
    let running = 0;
    const task =
      (name: string, fail = false) =>
      async () => {
        running++;
        expect(running).toBe(1);
        await new Promise((r) => setTimeout(r, 5));
        log.push(name);
        running--;
        if (fail) throw new Error(name);
        return name;
      };
    const a = q.run(task("a"));
    const b = q.run(task("b", true));
    const c = q.run(task("c"));
    await expect(a).resolves.toBe("a");
    await expect(b).rejects.toThrow("b");
    await expect(c).resolves.toBe("c");
    await q.idle();
    expect(log).toEqual(["a", "b", "c"]);
  });
});
