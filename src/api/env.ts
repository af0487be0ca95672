import type { IncomingMessage, ServerResponse } from "node:http";
import type { Principal } from "../audit/types.js";

/** Hono environment: the node bindings from @hono/node-server and per-request variables. */
export interface ApiEnv {
  Bindings: { incoming: IncomingMessage; outgoing: ServerResponse };
  Variables: {
    requestId: string;
    clientIp: string | null;
    principal: Principal;
    /** The session behind the request when a person signed in; null for admin keys. */
    sessionId: string | null;
  };
}
