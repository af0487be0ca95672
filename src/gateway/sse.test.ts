import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SseRelay, hasUsageValue } from "./sse.js";

const chunk = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;

describe("SSE relay", () => {
  const content = chunk({ choices: [{ delta: { content: "hi" } }], usage: null });
  const usage = chunk({
    choices: [],
    usage: { prompt_tokens: 7, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 2 } },
  });

  it("forwards complete events at once and holds partial ones", () => {
    const r = new SseRelay("chat", false);
    expect(r.push(Buffer.from(content.slice(0, 10)))).toBe("");
    expect(r.push(Buffer.from(content.slice(10) + content.slice(0, 5)))).toBe(content);
    expect(r.push(Buffer.from(content.slice(5)))).toBe(content);
    expect(r.dataEvents).toBe(2);
  });

  it("captures usage and drops the usage chunk only when keyward asked for it", () => {
    const dropping = new SseRelay("chat", true);
    expect(dropping.push(Buffer.from(content + usage + "data: [DONE]\n\n"))).toBe(
      content + "data: [DONE]\n\n",
    );
    expect(dropping.usage).toEqual({ prompt: 7, completion: 3, cached: 2 });
    const keeping = new SseRelay("chat", false);
    expect(keeping.push(Buffer.from(content + usage))).toBe(content + usage);
    expect(keeping.usage?.prompt).toBe(7);
  });

  it("reads Responses API usage from response.completed", () => {
    const r = new SseRelay("responses", false);
    const done = `event: response.completed\n${chunk({ type: "response.completed", response: { usage: { input_tokens: 5, output_tokens: 9, input_tokens_details: { cached_tokens: 1 } } } })}`;
    expect(r.push(Buffer.from(done))).toBe(done);
    expect(r.usage).toEqual({ prompt: 5, completion: 9, cached: 1 });
  });

  it("does not split multi-byte characters across chunks", () => {
    const r = new SseRelay("chat", false);
    const e = Buffer.from(chunk({ choices: [{ delta: { content: "é漢" } }] }));
    const cut = e.indexOf(Buffer.from("漢")) + 1;
    const out = r.push(e.subarray(0, cut)) + r.push(e.subarray(cut));
    expect(out).toBe(e.toString("utf8"));
  });

  it("reads the data of every event form: one line or many, LF or CRLF, with or without the space", () => {
    const payload = JSON.stringify({ choices: [], usage: { prompt_tokens: 4, completion_tokens: 1 } });
    const cut = payload.indexOf(",") + 1;
    for (const event of [
      `data: ${payload}\n\n`,
      `data:${payload}\n\n`,
      `data: ${payload}\r\n\r\n`,
      `data: ${payload}\r\n\n`,
      `data: ${payload}\n\r\n`,
      `event: x\ndata: ${payload}\n\n`,
      // Split between two members: the lines join with a newline, which JSON allows there.
      `data: ${payload.slice(0, cut)}\ndata: ${payload.slice(cut)}\n\n`,
    ]) {
      const r = new SseRelay("chat", true);
      // The usage-only chunk keyward asked for is dropped; its usage is kept.
      expect(r.push(Buffer.from(event)), event).toBe("");
      expect(r.usage, event).toEqual({ prompt: 4, completion: 1, cached: 0 });
    }
  });

  it("finds usage whatever else mentions it: null members, spaces, the word in content", () => {
    expect(hasUsageValue('{"usage":null}')).toBe(false);
    expect(hasUsageValue('{"usage" :\n null,"x":1}')).toBe(false);
    expect(hasUsageValue('{"a":"\\"usage\\": {}","usage":null}')).toBe(false);
    expect(hasUsageValue('{"response":{"usage":null},"usage":{"prompt_tokens":1}}')).toBe(true);
    expect(hasUsageValue('{"usage": {"prompt_tokens":1}}')).toBe(true);
    expect(hasUsageValue('{"type":"usage"}')).toBe(true); // unclear: parsed
    expect(hasUsageValue('{"choices":[]}')).toBe(false);
  });

  it("property: skipping the parse never misses usage that JSON.parse would find", () => {
    const usageValue = fc.oneof(
      fc.constant(null),
      fc.record({ prompt_tokens: fc.nat(), completion_tokens: fc.nat() }),
    );
    const doc = fc.record({
      content: fc.string(),
      note: fc.constantFrom("usage", '"usage": {}', '\\"usage\\":1', "x"),
      usage: usageValue,
      response: fc.record({ usage: usageValue }),
    });
    fc.assert(
      fc.property(doc, fc.constantFrom(0, 1, 2), (d, indent) => {
        const text = JSON.stringify(d, null, indent);
        const parsed = JSON.parse(text) as { usage: unknown; response: { usage: unknown } };
        if (parsed.usage !== null || parsed.response.usage !== null) expect(hasUsageValue(text)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
