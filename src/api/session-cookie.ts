import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import type { ApiEnv } from "./env.js";

/** The session cookie's name (the contract with the console). */
export const SESSION_COOKIE = "keyward_session";

/** Whether the request reached keyward over HTTPS: the socket, or the proxy when trusted. */
export function requestIsHttps(c: Context<ApiEnv>, trustProxy: boolean): boolean {
  if (trustProxy) {
    const proto = c.req.header("x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase();
    if (proto) return proto === "https";
  }
  const socket = c.env?.incoming?.socket as { encrypted?: boolean } | undefined;
  return socket?.encrypted === true;
}

/** The request's own origin (scheme://host[:port]) as a browser on this site would send it. */
export function requestOrigin(c: Context<ApiEnv>, trustProxy: boolean): string | null {
  const host = c.req.header("host");
  if (!host) return null;
  return `${requestIsHttps(c, trustProxy) ? "https" : "http"}://${host.toLowerCase()}`;
}

/** The session token the browser sent, if any. */
export function sessionToken(c: Context<ApiEnv>): string | undefined {
  return getCookie(c, SESSION_COOKIE);
}

/**
 * Sets the session cookie: HttpOnly (no script reads it), SameSite=Lax (not sent on
 * cross-site subresource requests or POSTs), Secure over HTTPS, living as long as the session.
 */
export function setSessionCookie(c: Context<ApiEnv>, token: string, maxAgeMs: number, secure: boolean): void {
  c.header("set-cookie", cookie(token, Math.floor(maxAgeMs / 1000), secure), { append: true });
}

/** Clears the session cookie. */
export function clearSessionCookie(c: Context<ApiEnv>, secure: boolean): void {
  c.header("set-cookie", cookie("", 0, secure), { append: true });
}

function cookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Max-Age=${maxAgeSeconds}; Path=/; HttpOnly; SameSite=Lax${secure ? "; Secure" : ""}`;
}
