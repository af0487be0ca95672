import { describe, expect, it } from "vitest";
import { SseRelay } from "./sse.js";

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
});
