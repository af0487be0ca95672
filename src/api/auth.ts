import type { Context, MiddlewareHandler } from "hono";
import type { AdminService } from "../admins/service.js";
import { KeywardError } from "../core/errors.js";
import type { SessionService } from "../people/sessions.js";
import type { ApiEnv } from "./env.js";
import { requestOrigin, sessionToken } from "./session-cookie.js";

/** How a request may prove who it is: an admin key, or a person's session cookie. */
export interface Authenticators {
  admins: Pick<AdminService, "authenticate">;
  sessions: Pick<SessionService, "authenticate">;
}

/**
 * Requires `Authorization: Bearer <admin key>` or a live session cookie, and puts the principal
 * on the context; routes check roles on it alike. A request that sends a bearer token is judged
 * by the token alone (a cookie beside it is ignored). Missing and invalid credentials get
 * distinct, specific messages; neither says anything about other keys or people.
 */
export function requireAdmin(auth: Authenticators): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const origin = { ip: c.get("clientIp"), userAgent: c.req.header("user-agent") ?? null };
    const header = c.req.header("authorization");
    if (header) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!match)
        throw new KeywardError("unauthorized", "malformed Authorization header: expected Bearer <admin key>");
      const principal = await auth.admins.authenticate(match[1]!, origin);
      if (!principal) throw new KeywardError("unauthorized", "invalid or revoked admin key");
      c.set("principal", principal);
      c.set("sessionId", null);
      return next();
    }
    const token = sessionToken(c);
    if (token === undefined)
      throw new KeywardError(
        "unauthorized",
        "missing admin key or session: send Authorization: Bearer <admin key>, or sign in",
      );
    const signedIn = await auth.sessions.authenticate(token, origin);
    if (!signedIn) throw new KeywardError("unauthorized", "your session has ended; sign in again");
    c.set("principal", signedIn.principal);
    c.set("sessionId", signedIn.sessionId);
    return next();
  };
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const JSON_TYPE = /^application\/json$/i;

/**
 * CSRF: a state-changing request that a browser could be tricked into sending with the
 * session cookie must prove it comes from keyward's own pages. With a session cookie (and no
 * bearer token) it needs an `Origin` equal to this server's origin (or, without Origin,
 * `Sec-Fetch-Site: same-origin`), and a JSON body (an HTML form can send neither). Without a
 * cookie only a foreign Origin is refused (sign-in CSRF). Runs before the body is read or the
 * media type is judged, so a forged form gets 403, not 415.
 */
export function csrfGuard(opts: {
  trustProxy: boolean;
  publicOrigin: () => string;
}): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    if (SAFE_METHODS.has(c.req.method) || c.req.header("authorization")) return next();
    const withCookie = sessionToken(c) !== undefined;
    const origin = c.req.header("origin");
    const fetchSite = c.req.header("sec-fetch-site")?.toLowerCase();
    const sameOrigin =
      origin !== undefined ? isOwnOrigin(c, origin, opts) : withCookie ? fetchSite === "same-origin" : true;
    if (!sameOrigin || (fetchSite !== undefined && fetchSite !== "same-origin" && fetchSite !== "none"))
      throw csrfRejected("cross-site requests may not change anything: use keyward's own pages");
    if (withCookie && hasBody(c)) {
      const type = c.req.header("content-type")?.split(";")[0]?.trim() ?? "";
      if (!JSON_TYPE.test(type))
        throw csrfRejected("signed-in requests with a body must send Content-Type: application/json");
    }
    return next();
  };
}

function isOwnOrigin(
  c: Context<ApiEnv>,
  origin: string,
  opts: { trustProxy: boolean; publicOrigin: () => string },
): boolean {
  const given = origin.toLowerCase();
  if (given === requestOrigin(c, opts.trustProxy)) return true;
  try {
    return given === new URL(opts.publicOrigin()).origin.toLowerCase();
  } catch {
    return false;
  }
}

function hasBody(c: Context<ApiEnv>): boolean {
  const length = c.req.header("content-length");
  return (length !== undefined && length !== "0") || c.req.header("transfer-encoding") !== undefined;
}

function csrfRejected(message: string): KeywardError {
  return new KeywardError("csrf_rejected", message);
}
