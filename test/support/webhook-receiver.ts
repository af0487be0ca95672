import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { WebhookPayload } from "../../src/alerts/record.js";

/** One request a receiver got, exactly as sent. */
export interface ReceivedDelivery {
  headers: IncomingHttpHeaders;
  rawBody: string;
  payload: WebhookPayload;
  /** What the receiver answered. */
  status: number;
}

/**
 * A webhook receiver for tests: node:http on 127.0.0.1, recording every request. `status` is
 * what it answers (set 500 to play "down but listening"); `close()` then `listen(port)` again
 * plays "process down, then back" on the same URL.
 */
export class WebhookReceiver {
  received: ReceivedDelivery[] = [];
  status = 200;
  private server: Server | undefined;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/keyward?token=abc123`;
  }

  /** Starts on `port` (0 = any free port). */
  async listen(port = 0): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const rawBody = Buffer.concat(chunks).toString("utf8");
        const status = this.status;
        this.received.push({
          headers: req.headers,
          rawBody,
          payload: JSON.parse(rawBody) as WebhookPayload,
          status,
        });
        res.writeHead(status, { "content-type": "text/plain" }).end(status < 300 ? "ok" : "nope");
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  /** Deliveries answered 2xx, i.e. accepted. */
  get accepted(): ReceivedDelivery[] {
    return this.received.filter((d) => d.status < 300);
  }

  /** Accepted deliveries of one event type. */
  ofType(type: string): ReceivedDelivery[] {
    return this.accepted.filter((d) => d.payload.type === type);
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }
}
