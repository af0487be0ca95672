import type { MiddlewareHandler } from "hono";
import type { AdminService } from "../admins/service.js";
import { KeywardError } from "../core/errors.js";
import type { ApiEnv } from "./env.js";

/**
 * Requires `Authorization: Bearer <admin key>` and puts the principal on the context.
 * Missing and invalid keys get distinct, specific messages; neither says anything about
 * other keys.
 */
export function requireAdmin(admins: AdminService): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization");
    if (!header)
      throw new KeywardError("unauthorized", "missing admin key: send Authorization: Bearer <admin key>");
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match)
      throw new KeywardError("unauthorized", "malformed Authorization header: expected Bearer <admin key>");
    const principal = await admins.authenticate(match[1]!, {
      ip: c.get("clientIp"),
      userAgent: c.req.header("user-agent") ?? null,
    });
    if (!principal) throw new KeywardError("unauthorized", "invalid or revoked admin key");
    c.set("principal", principal);
    await next();
  };
}
