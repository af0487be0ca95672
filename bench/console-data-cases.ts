/**
 * The calls `console-data-bench.ts` times: each API request the Keys page and the Usage page make
 * (web/src/pages/Keys.tsx, Usage.tsx), with the query strings they build, and a check that the
 * answer is the one asked for (so a fast wrong answer or an error can never pass as a result).
 */
import type { SeededKey } from "./console-data-seed.js";

const DAY = 86_400_000;
const PAGE = 50; // Keys.tsx's page size

/** What the seeded store holds that the calls refer to. */
export interface Fixture {
  projectId: string;
  /** The big project's keys, in creation (= id) order. */
  keys: SeededKey[];
  /** The busiest key (the Key detail page's "usage by hour" link). */
  busyKey: SeededKey;
  now: number;
  keyName(i: number): string;
}

export interface Call {
  page: "keys" | "usage";
  label: string;
  path: string;
  /** Throws unless the body is the right answer; returns how many rows it holds. */
  check(body: string): number;
}

interface KeyRow {
  id: string;
  name: string;
  status: string;
  created_at: string;
}
interface KeyPage {
  data: KeyRow[];
  has_more: boolean;
  next_cursor: string | null;
}
interface UsagePage {
  data: Array<{ group: string; requests: number }>;
}

function fail(label: string, why: string): never {
  throw new Error(`${label}: ${why}`);
}

/** The Usage page's date inputs: whole UTC days, `until` = tomorrow 00:00Z (exclusive). */
function dayStart(now: number, offsetDays: number): string {
  return `${new Date(now + offsetDays * DAY).toISOString().slice(0, 10)}T00:00:00Z`;
}

/**
 * Builds the calls. `get` reads a page through the API once beforehand, to take a real cursor
 * for the deep-paging calls the way the page does ("Load more" sends `after=next_cursor`).
 */
export async function consoleCases(f: Fixture, get: (path: string) => Promise<unknown>): Promise<Call[]> {
  const keysPath = (q: Record<string, string>) =>
    `/api/v1/projects/${f.projectId}/keys?${new URLSearchParams({ limit: String(PAGE), ...q })}`;
  const keyCall = (label: string, q: Record<string, string>, ok: (p: KeyPage) => string | null): Call => ({
    page: "keys",
    label,
    path: keysPath(q),
    check(body) {
      const p = JSON.parse(body) as KeyPage;
      if (p.data.length === 0) fail(label, "no keys");
      if (p.data.length > PAGE) fail(label, `${p.data.length} keys on a page of ${PAGE}`);
      const why = ok(p);
      if (why) fail(label, why);
      return p.data.length;
    },
  });
  const every = (pred: (k: KeyRow) => boolean, what: string) => (p: KeyPage) =>
    p.data.every(pred) ? null : `a key that is not ${what}`;
  const sorted = (cmp: (a: KeyRow, b: KeyRow) => number) => (p: KeyPage) =>
    p.data.every((k, i) => i === 0 || cmp(p.data[i - 1]!, k) <= 0) ? null : "out of order";

  // The cursor of page 100 (keys 4,951–5,000 at 10,000 keys), as "Load more" would reach it.
  const deep = Math.min(99, Math.floor(f.keys.length / PAGE) - 1) * PAGE;
  const cursor = f.keys[deep - 1]!.id;
  const expectDeep = f.keys[deep]!.id;
  // Deep in the name order too: the cursor the page holds after paging that far.
  const byName = [...f.keys].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : 1,
  );
  const nameCursor = byName[deep - 1]!.id;
  const firstRevoked = (await get(keysPath({ status: "revoked" }))) as KeyPage;
  const revokedCursor = firstRevoked.next_cursor ?? fail("keys", "fewer than two pages of revoked keys");
  const term = "billing-indexer"; // ~1% of the names: a couple of pages of matches
  const exact = f.keyName(Math.min(4321, f.keys.length - 1));

  const keys: Call[] = [
    keyCall("first page (50 keys)", {}, (p) =>
      p.data[0]!.id === f.keys[0]!.id ? null : "not the first key",
    ),
    keyCall(
      `page ${deep / PAGE + 1}: cursor after key ${deep.toLocaleString("en-US")}`,
      { after: cursor },
      (p) => (p.data[0]!.id === expectDeep ? null : "not the key after the cursor"),
    ),
    keyCall(
      "status = active",
      { status: "active" },
      every((k) => k.status === "active", "active"),
    ),
    keyCall(
      "status = revoked",
      { status: "revoked" },
      every((k) => k.status === "revoked", "revoked"),
    ),
    keyCall(
      "status = revoked, 2nd page",
      { status: "revoked", after: revokedCursor },
      (p) =>
        every((k) => k.status === "revoked", "revoked")(p) ??
        (p.data[0]!.id > revokedCursor ? null : "not after the cursor"),
    ),
    keyCall(
      "status = disabled",
      { status: "disabled" },
      every((k) => k.status === "disabled", "disabled"),
    ),
    keyCall(
      "status = expired",
      { status: "expired" },
      every((k) => k.status === "expired", "expired"),
    ),
    keyCall(
      `search "${term}"`,
      { q: term },
      every((k) => k.name.includes(term), `named *${term}*`),
    ),
    keyCall(`search one name ("${exact}")`, { q: exact }, (p) =>
      p.data.length === 1 && p.data[0]!.name === exact ? null : "not exactly that key",
    ),
    keyCall("sort newest first", { sort: "-created" }, (p) =>
      p.data[0]!.id === f.keys.at(-1)!.id ? null : "not the newest key first",
    ),
    keyCall(
      "sort by name",
      { sort: "name" },
      sorted((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    ),
    keyCall(`sort by name, page ${deep / PAGE + 1}`, { sort: "name", after: nameCursor }, (p) =>
      p.data[0]!.id === byName[deep]!.id ? null : "not the name after the cursor",
    ),
    keyCall(
      "search + status + sort",
      { q: "prod", status: "active", sort: "-name" },
      (p) =>
        every((k) => k.status === "active" && k.name.includes("prod"), "active *prod*")(p) ??
        sorted((a, b) => (a.name > b.name ? -1 : a.name < b.name ? 1 : 0))(p),
    ),
  ];

  const usagePath = (route: string, q: Record<string, string>) =>
    `/api/v1/${route}?${new URLSearchParams(q)}`;
  const range = (days: number) => ({ since: dayStart(f.now, -days), until: dayStart(f.now, 1) });
  const usageCall = (label: string, q: Record<string, string>, minRows: number): Call => ({
    page: "usage",
    label,
    path: usagePath("usage", q),
    check(body) {
      const p = JSON.parse(body) as UsagePage;
      if (p.data.length < minRows) fail(label, `${p.data.length} rows, expected ≥ ${minRows}`);
      if (!p.data.every((r) => r.requests > 0)) fail(label, "a group without requests");
      return p.data.length;
    },
  });
  const csvCall = (label: string, q: Record<string, string>, firstColumn: string, minRows: number): Call => ({
    page: "usage",
    label,
    path: usagePath("usage/export", { ...q, format: "csv" }),
    check(body) {
      const lines = body.trimEnd().split("\n");
      if (!lines[0]!.startsWith(firstColumn)) fail(label, `CSV header ${lines[0]}`);
      if (lines.length - 1 < minRows) fail(label, `${lines.length - 1} CSV rows, expected ≥ ${minRows}`);
      return lines.length - 1;
    },
  });
  const usage: Call[] = [
    usageCall("by day, 30 days", { group_by: "day", ...range(30) }, 30),
    usageCall("by day, 90 days", { group_by: "day", ...range(90) }, 89),
    usageCall("by hour, one key, 7 days", { group_by: "hour", key_id: f.busyKey.id, ...range(7) }, 1),
    usageCall("by key, 30 days", { group_by: "key", ...range(30) }, 1000),
    usageCall("by key, 90 days", { group_by: "key", ...range(90) }, 1000),
    usageCall("by project, 30 days", { group_by: "project", ...range(30) }, 2),
    usageCall("by model, 30 days", { group_by: "model", ...range(30) }, 8),
    usageCall("by day, one project, 30 days", { group_by: "day", project_id: f.projectId, ...range(30) }, 30),
    csvCall("CSV export by day, 30 days", { group_by: "day", ...range(30) }, "day", 30),
    csvCall(
      "CSV export by key, 30 days (every key)",
      { group_by: "key", ...range(30) },
      "key",
      f.keys.length,
    ),
  ];
  return [...keys, ...usage];
}
