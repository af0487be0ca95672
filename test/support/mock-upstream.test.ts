import { spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMockUpstream, type MockUpstream } from "./mock-upstream.js";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

let mock: MockUpstream;

beforeAll(async () => {
  mock = await startMockUpstream({ chunks: 3 });
});
afterAll(async () => {
  await mock.close();
});

const post = (p: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal) =>
  fetch(mock.url + p, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer sk-provider-real", ...headers },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });

/** The JSON payloads of an SSE body's `data:` lines. */
function sseData(text: string): string[] {
  return text
    .split("\n\n")
    .filter((e) => e.trim() !== "")
    .map((e) =>
      e
        .split("\n")
        .find((l) => l.startsWith("data: "))!
        .slice(6),
    );
}

const waitFor = async (cond: () => boolean, ms = 2000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe("mock upstream", () => {
  it("answers chat completions with usage and records the request", async () => {
    const res = await post("/chat/completions", {
      model: "gpt-4o",
      messages: [{ role: "user", content: "hello" }],
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { model: string; usage: Record<string, unknown> };
    expect(body.model).toBe("gpt-4o");
    expect(body.usage).toMatchObject({
      prompt_tokens: 10,
      completion_tokens: 6,
      total_tokens: 16,
      prompt_tokens_details: { cached_tokens: 0 },
    });
    expect(mock.stats.lastRequest?.headers.authorization).toBe("Bearer sk-provider-real");
    expect(mock.stats.lastRequest?.url).toBe("/v1/chat/completions");
    expect(JSON.parse(mock.stats.lastRequest!.body.toString())).toMatchObject({ model: "gpt-4o" });
  });

  it("takes the usage from x-mock-usage", async () => {
    const res = await post(
      "/chat/completions",
      { model: "gpt-4o", messages: [] },
      { "x-mock-usage": "100,20,64" },
    );
    const body = (await res.json()) as { usage: Record<string, unknown> };
    expect(body.usage).toMatchObject({ prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 });
    expect(body.usage.prompt_tokens_details).toEqual({ cached_tokens: 64, audio_tokens: 0 });
  });

  it("streams chat chunks, with a usage chunk only when asked", async () => {
    const withUsage = sseData(
      await (
        await post("/chat/completions", { model: "m", stream: true, stream_options: { include_usage: true } })
      ).text(),
    );
    expect(withUsage.at(-1)).toBe("[DONE]");
    const usageChunk = JSON.parse(withUsage.at(-2)!) as {
      choices: unknown[];
      usage: { total_tokens: number };
    };
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage.total_tokens).toBeGreaterThan(0);
    const content = withUsage
      .slice(0, -2)
      .map(
        (d) =>
          (JSON.parse(d) as { choices: Array<{ delta: { content?: string } }> }).choices[0]!.delta.content ??
          "",
      )
      .join("");
    expect(content).toBe("tok0 tok1 tok2");

    const plain = sseData(await (await post("/chat/completions", { model: "m", stream: true })).text());
    expect(plain.at(-1)).toBe("[DONE]");
    expect(plain.some((d) => d.includes('"usage"'))).toBe(false);
  });

  it("spaces stream events by the per-event delay", async () => {
    const t0 = performance.now();
    const res = await post(
      "/chat/completions",
      { stream: true },
      { "x-mock-delay-ms": "30", "x-mock-chunks": "2" },
    );
    const reader = res.body!.getReader();
    await reader.read();
    const first = performance.now() - t0;
    while (!(await reader.read()).done);
    const total = performance.now() - t0;
    // role, 2 content, finish, [DONE]: a 30 ms gap before each content event and the finish
    expect(first).toBeLessThan(60);
    expect(total).toBeGreaterThanOrEqual(85);
    expect(total).toBeLessThan(200);
  });

  it("streams the Responses API ending in response.completed with usage", async () => {
    const res = await post("/responses", { model: "gpt-4o", input: "hi", stream: true });
    const text = await res.text();
    const events = text.split("\n\n").filter(Boolean);
    expect(events[0]).toMatch(/^event: response\.created\n/);
    expect(events.filter((e) => e.startsWith("event: response.output_text.delta"))).toHaveLength(3);
    const last = JSON.parse(sseData(text).at(-1)!) as {
      type: string;
      response: { usage: Record<string, unknown> };
    };
    expect(last.type).toBe("response.completed");
    expect(last.response.usage).toMatchObject({
      input_tokens: 9,
      output_tokens: 6,
      input_tokens_details: { cached_tokens: 0 },
    });

    const json = (await (await post("/responses", { model: "gpt-4o", input: "hi" })).json()) as {
      usage: { input_tokens: number };
    };
    expect(json.usage.input_tokens).toBe(9);
  });

  it("serves completions, embeddings (float and base64), moderations and models", async () => {
    const cmpl = (await (
      await post("/completions", { model: "gpt-3.5-turbo-instruct", prompt: "abcd" })
    ).json()) as {
      usage: { prompt_tokens: number };
    };
    expect(cmpl.usage.prompt_tokens).toBe(9);

    const floats = (await (
      await post("/embeddings", { model: "e", input: ["a", "b"], dimensions: 4 })
    ).json()) as {
      data: Array<{ embedding: number[] }>;
      usage: { prompt_tokens: number };
    };
    expect(floats.data).toHaveLength(2);
    expect(floats.data[0]!.embedding).toHaveLength(4);
    expect(floats.usage.prompt_tokens).toBe(9);
    const b64 = (await (
      await post("/embeddings", { model: "e", input: "a", encoding_format: "base64" })
    ).json()) as {
      data: Array<{ embedding: string }>;
    };
    const buf = Buffer.from(b64.data[0]!.embedding, "base64");
    expect(new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4)).toHaveLength(16);

    const mod = (await (await post("/moderations", { input: "x" })).json()) as {
      results: Array<{ flagged: boolean }>;
    };
    expect(mod.results[0]!.flagged).toBe(false);

    const list = (await (await fetch(mock.url + "/models")).json()) as { data: Array<{ id: string }> };
    expect(list.data.map((m) => m.id)).toContain("gpt-4o-mini");
    expect((await fetch(mock.url + "/models/gpt-4o")).status).toBe(200);
    const missing = await fetch(mock.url + "/models/nope");
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("model_not_found");
  });

  it("answers unknown paths and bad JSON in OpenAI's error shape", async () => {
    const res = await post("/nope", {});
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { type: "invalid_request_error", param: null } });
    const bad = await fetch(mock.url + "/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{nope",
    });
    expect(bad.status).toBe(400);
  });

  it("fails on demand: status by header and by option", async () => {
    const r500 = await post("/chat/completions", {}, { "x-mock-status": "500" });
    expect(r500.status).toBe(500);
    expect(await r500.json()).toMatchObject({ error: { type: "server_error" } });
    mock.setOptions({ status: 429 });
    try {
      const r429 = await post("/chat/completions", {});
      expect(r429.status).toBe(429);
      expect(r429.headers.get("retry-after")).toBe("1");
    } finally {
      mock.setOptions({ status: undefined });
    }
    expect((await post("/chat/completions", {})).status).toBe(200);
  });

  it("hangs, and counts the request as aborted when the client gives up", async () => {
    const before = mock.stats.aborted;
    const ac = new AbortController();
    const pending = post("/chat/completions", {}, { "x-mock-hang": "1" }, ac.signal);
    await waitFor(() => mock.stats.lastRequest?.headers["x-mock-hang"] === "1");
    ac.abort();
    await expect(pending).rejects.toThrow();
    await waitFor(() => mock.stats.aborted === before + 1);
  });

  it("closes the socket mid-stream after K events", async () => {
    const res = await post("/chat/completions", { stream: true }, { "x-mock-close-after": "2" });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let received = "";
    await expect(
      (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          received += Buffer.from(value).toString();
        }
      })(),
    ).rejects.toThrow();
    expect(sseData(received)).toHaveLength(2);
  });

  it("counts requests and tracks open sockets, and close() ends hung requests", async () => {
    const other = await startMockUpstream();
    const hung = fetch(other.url + "/models", { headers: { "x-mock-hang": "1" } }).catch((e: unknown) => e);
    await waitFor(() => other.stats.requests === 1 && other.stats.openSockets === 1);
    await other.close();
    expect(await hung).toBeInstanceOf(Error);
    await waitFor(() => other.stats.aborted === 1);
  });

  it("runs as a standalone process", async () => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        path.join(REPO_ROOT, "test/support/mock-upstream.ts"),
        "--port",
        "0",
        "--exit-on-stdin-close",
      ],
      { cwd: REPO_ROOT, stdio: ["pipe", "pipe", "inherit"] },
    );
    try {
      const [line] = (await once(child.stdout, "data")) as [Buffer];
      const { url } = JSON.parse(line.toString()) as { url: string };
      const res = await fetch(url + "/models");
      expect(res.status).toBe(200);
    } finally {
      child.stdin.end();
      await once(child, "exit");
    }
  });
});
