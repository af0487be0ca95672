import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { KeywardError } from "../core/errors.js";

/**
 * Refuses request bodies over `maxBytes` with `payload_too_large` (413). The rest of the body is
 * never read, so the connection cannot carry another request: the answer says so
 * (`connection: close`) rather than let a keep-alive client reuse a socket the server then drops.
 */
export function refuseBodiesOver(maxBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) => {
      c.header("connection", "close");
      throw new KeywardError("payload_too_large", `request body is larger than ${maxBytes} bytes`);
    },
  });
}
