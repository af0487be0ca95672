import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bodyWithUsageRequested } from "./request-models.js";

/** The request the upstream must see: the client's, with include_usage switched on. */
function expected(json: Record<string, unknown>): Record<string, unknown> {
  const options =
    typeof json.stream_options === "object" && json.stream_options !== null ? json.stream_options : {};
  return { ...json, stream_options: { ...options, include_usage: true } };
}

function check(text: string): void {
  const json = JSON.parse(text) as Record<string, unknown>;
  const out = bodyWithUsageRequested(Buffer.from(text), json);
  expect(JSON.parse(out.toString("utf8"))).toEqual(expected(json));
}

describe("bodyWithUsageRequested", () => {
  it("adds include_usage to any request object, however it is written", () => {
    const streamOptions = fc.oneof(
      fc.constant(undefined),
      fc.constant(null),
      fc.record({ include_usage: fc.boolean() }, { requiredKeys: [] }),
      fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
    );
    const request = fc
      .tuple(
        fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }),
        streamOptions,
      )
      .map(([rest, so]) => {
        const r: Record<string, unknown> = { ...rest };
        delete r.stream_options;
        if (so !== undefined) r.stream_options = so;
        return r;
      });
    const indent = fc.constantFrom(undefined, 0, 2, "\t");
    const pad = fc.constantFrom("", " ", "\n", "\r\n\t ");
    fc.assert(
      fc.property(request, indent, pad, pad, (r, ind, before, after) => {
        check(before + JSON.stringify(r, null, ind) + after);
      }),
      { numRuns: 2000 },
    );
  });

  it("splices into the client's bytes when the request has no stream_options", () => {
    const text = '  {"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hé"}]}';
    const out = bodyWithUsageRequested(Buffer.from(text), JSON.parse(text) as Record<string, unknown>);
    expect(out.toString("utf8")).toBe(
      '  {"stream_options":{"include_usage":true},"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hé"}]}',
    );
    check("{}");
    check(" { } ");
  });
});
