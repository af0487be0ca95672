import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { topLevelObjectValue } from "./json-tail.js";

const doc = (text: string): Buffer => Buffer.from(text, "utf8");
const USAGE = { prompt_tokens: 12, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 2 } };

describe("topLevelObjectValue", () => {
  it("reads a top-level object value near the end, whatever follows it", () => {
    const chat = {
      id: "c1",
      choices: [{ message: { content: "hi" } }],
      usage: USAGE,
      system_fingerprint: "fp",
    };
    expect(topLevelObjectValue(doc(JSON.stringify(chat)), "usage")).toEqual(USAGE);
    expect(topLevelObjectValue(doc(JSON.stringify(chat, null, 2)), "usage")).toEqual(USAGE);
    const embeddings = { data: [{ embedding: Array.from({ length: 1536 }, (_, i) => i / 7) }], usage: USAGE };
    expect(topLevelObjectValue(doc(JSON.stringify(embeddings) + "\n"), "usage")).toEqual(USAGE);
  });

  it("gives up (undefined) rather than answer from a nested key, a string, or a non-object", () => {
    const nestedLast = { usage: USAGE, metadata: { usage: { prompt_tokens: 999 } } };
    expect(topLevelObjectValue(doc(JSON.stringify(nestedLast)), "usage")).toBeUndefined();
    const inString = { usage: USAGE, note: 'he wrote "usage": {"prompt_tokens": 999}}' };
    // The quotes inside the string are escaped, so the last raw "usage" is the real key.
    expect(topLevelObjectValue(doc(JSON.stringify(inString)), "usage")).toEqual(USAGE);
    expect(topLevelObjectValue(doc(JSON.stringify({ usage: null })), "usage")).toBeUndefined();
    expect(topLevelObjectValue(doc(JSON.stringify({ a: ["usage"] })), "usage")).toBeUndefined();
    expect(topLevelObjectValue(doc(JSON.stringify([{ usage: USAGE }])), "usage")).toBeUndefined();
    expect(topLevelObjectValue(doc('{"usage": {"prompt_tokens": 1}'), "usage")).toBeUndefined();
    expect(topLevelObjectValue(doc(""), "usage")).toBeUndefined();
  });

  it("equals JSON.parse(doc).usage whenever it answers, on random documents", () => {
    // Keys and strings drawn to collide with the shortcut: "usage" as key at every depth, as a
    // string, inside strings with quotes and backslashes, and non-ASCII text.
    const tricky = fc.constantFrom("usage", '"usage": {', '\\"usage\\"', "\\", '"', "ü€😀", "}", "{", "]");
    const key = fc.oneof(fc.constantFrom("usage", "data", "model"), fc.string({ maxLength: 4 }));
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.string({ maxLength: 6 }), tricky),
        fc.array(tie("value"), { maxLength: 3 }),
        fc.dictionary(key, tie("value"), { maxKeys: 4 }),
      ),
    }));
    let answered = 0;
    const top = fc.tuple(fc.dictionary(key, value, { maxKeys: 5 }), fc.option(value), fc.boolean());
    fc.assert(
      fc.property(top, ([object, usage, pretty]) => {
        const o = usage === null ? object : { ...object, usage };
        const text = JSON.stringify(o, null, pretty ? 1 : undefined);
        const got = topLevelObjectValue(doc(text), "usage");
        if (got !== undefined) answered++;
        if (got !== undefined) expect(got).toEqual((JSON.parse(text) as Record<string, unknown>).usage);
        // A top-level usage object written after everything else, then a plain key, is always found.
        const before = JSON.stringify(object).slice(0, -1);
        const plain = `${before}${before === "{" ? "" : ","}"usage":${JSON.stringify(USAGE)},"after":"x"}`;
        expect(topLevelObjectValue(doc(plain), "usage")).toEqual(USAGE);
      }),
      { numRuns: 2000 },
    );
    // Not vacuous: the shortcut answered for a good share of the random documents.
    expect(answered).toBeGreaterThan(200);
  });
});
