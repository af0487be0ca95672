import type { UserView } from "../../src/people/views.js";

/**
 * A minimal browser stand-in for API-level tests of people: keeps the session cookie the
 * server sets (like a cookie jar) and sends the headers a same-origin page would (Origin),
 * unless a test forges others.
 */
/** A reply: status, parsed JSON body (typed by the caller), headers. */
export interface Reply<T> {
  status: number;
  body: T;
  headers: Headers;
}

type Loose = Record<string, unknown>;

export class Browser {
  cookie: string | null = null;

  constructor(
    readonly baseUrl: string,
    /** The client IP the server sees (through X-Forwarded-For, with trust_proxy on). */
    readonly ip = "127.0.0.1",
  ) {}

  async send<T = Loose>(
    method: string,
    path: string,
    opts: { json?: unknown; body?: string; headers?: Record<string, string>; origin?: string | null } = {},
  ): Promise<Reply<T>> {
    const headers: Record<string, string> = { "x-forwarded-for": this.ip, ...opts.headers };
    const origin = opts.origin === undefined ? this.baseUrl : opts.origin;
    if (origin !== null && method !== "GET") headers.origin = origin;
    if (this.cookie) headers.cookie = `keyward_session=${this.cookie}`;
    let body: string | undefined = opts.body;
    if (opts.json !== undefined) {
      headers["content-type"] ??= "application/json";
      body = JSON.stringify(opts.json);
    }
    const res = await fetch(this.baseUrl + "/api/v1" + path, { method, headers, body });
    const set = res.headers.get("set-cookie");
    const m = set ? /keyward_session=([^;]*)/.exec(set) : null;
    if (m) this.cookie = m[1] || null;
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  get<T = Loose>(path: string): Promise<Reply<T>> {
    return this.send<T>("GET", path);
  }
  post<T = Loose>(path: string, json?: unknown): Promise<Reply<T>> {
    return this.send<T>("POST", path, json === undefined ? {} : { json });
  }
  patch<T = Loose>(path: string, json: unknown): Promise<Reply<T>> {
    return this.send<T>("PATCH", path, { json });
  }
  delete<T = Loose>(path: string): Promise<Reply<T>> {
    return this.send<T>("DELETE", path);
  }

  login(email: string, password: string): Promise<Reply<{ user: UserView }>> {
    return this.post("/auth/login", { email, password });
  }

  /** Accepts a one-time link (what the console's /invite/:token page does). */
  accept(url: string, body: Record<string, unknown>): Promise<Reply<{ user: UserView }>> {
    return this.post(`/auth/invitations/${tokenOf(url)}/accept`, body);
  }
}

/** The token part of a one-time link. */
export const tokenOf = (url: string): string => url.split("/invite/")[1]!;
