import { render } from "@testing-library/react";
import createClient from "openapi-fetch";
import type { ReactNode } from "react";
import type { User } from "../api/client";
import { SessionContext } from "../api/context";
import type { paths } from "../api/schema";

/** One request as a page made it: method, path, query and the JSON body (if any). */
export interface Call {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
}

/** What the fake server answers: a status and a JSON body (undefined = empty 204). */
export type Answer = { status?: number; body?: unknown };

/**
 * The management API as a page sees it, answered by `route` from memory. Every call is
 * recorded so a test can check what the page asked for, and with which body.
 */
export function fakeApi(route: (call: Call) => Answer, calls: Call[] = []) {
  return createClient<paths>({
    baseUrl: "http://console.test",
    fetch: async (req: Request) => {
      const url = new URL(req.url);
      const text = req.method === "GET" ? "" : await req.text();
      const call: Call = {
        method: req.method,
        path: url.pathname,
        query: url.searchParams,
        body: text ? (JSON.parse(text) as unknown) : undefined,
      };
      calls.push(call);
      const answer = route(call);
      if (answer.body === undefined) return new Response(null, { status: answer.status ?? 204 });
      return new Response(JSON.stringify(answer.body), {
        status: answer.status ?? 200,
        headers: { "content-type": "application/json" },
      });
    },
  });
}

/** A signed-in person with this role (every project unless `projects` is given). */
export function person(role: User["role"], projects: string[] | null = null): User {
  return {
    id: "usr_1",
    email: "a@example.com",
    display_name: "A",
    role,
    projects,
    created_at: 0,
    disabled_at: null,
  };
}

/** Renders a page inside the session the console gives it. */
export function renderWith(ui: ReactNode, route: (call: Call) => Answer, user: User, calls: Call[] = []) {
  return render(
    <SessionContext.Provider value={{ api: fakeApi(route, calls), user, setUser: () => {} }}>
      {ui}
    </SessionContext.Provider>,
  );
}

/** A list envelope as the API sends it. */
export function list<T>(data: T[]) {
  return { object: "list", data, has_more: false, next_cursor: null };
}
