import { describe, expect, it } from "vitest";
import { usageFromJson } from "./usage-extract.js";

const body = (o: unknown): Buffer => Buffer.from(JSON.stringify(o));

describe("usageFromJson", () => {
  it("reads chat, embeddings and Responses API usage", () => {
    const chat = {
      choices: [{ message: { content: "x" } }],
      usage: { prompt_tokens: 9, completion_tokens: 4, prompt_tokens_details: { cached_tokens: 3 } },
      system_fingerprint: "fp_1",
    };
    expect(usageFromJson("chat", body(chat))).toEqual({ prompt: 9, completion: 4, cached: 3 });
    const embeddings = { data: [{ embedding: [0.1, 0.2] }], usage: { prompt_tokens: 8, total_tokens: 8 } };
    expect(usageFromJson("embeddings", body(embeddings))).toEqual({ prompt: 8, completion: 0, cached: 0 });
    const responses = {
      output: [{ content: [{ text: "y" }] }],
      usage: { input_tokens: 20, output_tokens: 5, input_tokens_details: { cached_tokens: 10 } },
      metadata: {},
    };
    expect(usageFromJson("responses", body(responses))).toEqual({ prompt: 20, completion: 5, cached: 10 });
  });

  it("falls back to parsing the whole body when the end does not tell", () => {
    // The last raw "usage" is nested: the top-level one must still be found.
    const nested = {
      usage: { prompt_tokens: 7, completion_tokens: 1 },
      metadata: { usage: { prompt_tokens: 999 } },
    };
    expect(usageFromJson("chat", body(nested))).toEqual({ prompt: 7, completion: 1, cached: 0 });
    expect(usageFromJson("chat", body({ usage: null }))).toBeNull();
    expect(usageFromJson("chat", body({ choices: [] }))).toBeNull();
    expect(usageFromJson("chat", Buffer.from("not json"))).toBeNull();
    expect(usageFromJson("none", body({ usage: { prompt_tokens: 1 } }))).toBeNull();
  });
});
