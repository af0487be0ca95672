import http from "node:http";
import net from "node:net";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/harness.js";
import { startMockUpstream, type MockUpstream } from "../support/mock-upstream.js";

/** A host name only the proxy knows (`.invalid` never resolves anywhere else, RFC 6761). */
const HIDDEN_HOST = "api.upstream.invalid";

interface ForwardProxy {
  url: string;
  /** The CONNECT targets it opened tunnels to, in order. */
  tunnels: string[];
  close(): Promise<void>;
}

/** A forward proxy that tunnels CONNECT requests, resolving HIDDEN_HOST to `port` on loopback. */
async function startForwardProxy(port: number): Promise<ForwardProxy> {
  const tunnels: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((_req, res) => res.writeHead(405).end());
  server.on("connect", (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    sockets.add(client);
    client.on("error", () => {});
    const target = req.url ?? "";
    if (!target.startsWith(`${HIDDEN_HOST}:`)) return void client.end("HTTP/1.1 403 Forbidden\r\n\r\n");
    tunnels.push(target);
    const upstream = net.connect(port, "127.0.0.1", () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on("error", () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    tunnels,
    close: () =>
      new Promise<void>((r) => {
        sockets.forEach((s) => s.destroy());
        server.close(() => r());
      }),
  };
}

describe("upstream calls through a forward proxy (HTTP_PROXY / NO_PROXY)", () => {
  let mock: MockUpstream;
  let proxy: ForwardProxy;
  const servers: TestServer[] = [];

  async function keywardWith(config: { httpProxy?: string; noProxy?: string }): Promise<OpenAI> {
    const t = await startTestServer("sqlite", {
      config: {
        upstreamBaseUrl: `http://${HIDDEN_HOST}:${mock.port}/v1`,
        upstreamApiKey: "sk-mock-provider-key",
        upstreamTimeoutMs: 3_000,
        ...config,
      },
      logLevel: "silent",
    });
    servers.push(t);
    const project = await t.client.createProject({ name: "proxied" });
    const { key } = await t.client.createKey(project.id, { name: "k" });
    return new OpenAI({ apiKey: key, baseURL: `${t.url}/v1`, maxRetries: 0 });
  }

  beforeAll(async () => {
    mock = await startMockUpstream();
    proxy = await startForwardProxy(mock.port);
  });
  afterAll(async () => {
    for (const t of servers) await t.stop();
    await proxy?.close();
    await mock?.close();
  });

  it("the official SDK's chat and streaming calls reach an upstream only the proxy can reach", async () => {
    const sdk = await keywardWith({ httpProxy: proxy.url });
    const chat = await sdk.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "through the proxy" }],
    });
    expect(chat.choices[0]?.message.content).toBeTruthy();
    const stream = await sdk.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "stream through the proxy" }],
      stream: true,
    });
    let chunks = 0;
    for await (const chunk of stream) if (chunk.choices.length > 0) chunks++;
    expect(chunks).toBeGreaterThanOrEqual(2);
    expect(proxy.tunnels.length).toBeGreaterThanOrEqual(1);
    expect(proxy.tunnels.every((t) => t === `${HIDDEN_HOST}:${mock.port}`)).toBe(true);
    // The proxy saw only a tunnel; the provider key went inside it, to the upstream.
    expect(mock.stats.lastRequest?.headers.authorization).toBe("Bearer sk-mock-provider-key");
  });

  it("NO_PROXY sends the host direct (where it does not resolve), and so does no proxy at all", async () => {
    const tunnelsBefore = proxy.tunnels.length;
    for (const sdk of [
      await keywardWith({ httpProxy: proxy.url, noProxy: ".invalid" }),
      await keywardWith({}),
    ]) {
      const err = await sdk.chat.completions
        .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    }
    expect(proxy.tunnels.length).toBe(tunnelsBefore);
  });
});
