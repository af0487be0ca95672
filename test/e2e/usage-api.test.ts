import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { registerUsage } from "../../src/cli/commands/usage.js";
import { startTestServer, testDialects, type TestServer } from "../support/harness.js";
import { queryUsage, USAGE_GROUPS, type UsageRow } from "../../src/usage/query.js";
import type { UsageEvent } from "../../src/usage/types.js";
import { usageEvent } from "../support/usage-event.js";

/**
 * The usage API over rollups, end to end: answers equal sums computed here from the very events
 * recorded, key and project names come along, the CSV export parses back to the JSON rows, and
 * `keyward usage` prints a readable table with a total.
 */

const H = 3_600_000;

/** RFC 4180: quoted cells may hold commas, quotes ("") and line breaks; lines end in CRLF. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(cell);
      cell = "";
    } else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
      i++;
    } else cell += ch;
  }
  expect(cell === "" && row.length === 0, "CSV ends with CRLF").toBe(true);
  return rows;
}

/** Runs `keyward usage …` in-process and returns what it printed. */
async function cliUsage(t: TestServer, ...args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerUsage(program);
  let out = "";
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  try {
    await program.parseAsync(["usage", ...args, "--url", t.url, "--admin-key", t.ownerKey], { from: "user" });
  } finally {
    spy.mockRestore();
  }
  return out;
}

describe.each(testDialects())("usage API, CSV export and CLI table (%s)", (dialect) => {
  let t: TestServer;
  const events: UsageEvent[] = [];
  const now = Date.now();
  const keys: Array<{ id: string; name: string; projectId: string }> = [];

  beforeAll(async () => {
    t = await startTestServer(dialect, { logLevel: "silent" });
    const p1 = (await t.client.createProject({ name: "web" })).id;
    const p2 = (await t.client.createProject({ name: "batch" })).id;
    // A name a spreadsheet would run as a formula, with a comma and a quote: CSV must defuse it.
    for (const [name, projectId] of [
      ["ci", p1],
      ['=HYPERLINK("x"),evil', p1],
      ["nightly", p2],
    ] as const) {
      const k = await t.client.createKey(projectId, { name });
      keys.push({ id: k.id, name, projectId });
    }
    // 600 events over the last 10 days, at odd milliseconds, with a few errors and no-model rows.
    for (let i = 0; i < 600; i++) {
      const k = keys[i % 3]!;
      events.push(
        usageEvent({
          requestId: `req_api_${i}`,
          // 24-minute slots, 12 minutes off the hour grid of `now`: none sits near a "7d ago" edge.
          ts: now - 720_000 - ((i * 7919) % 600) * 1_440_000 - (i % 977),
          keyId: k.id,
          projectId: k.projectId,
          model: i % 10 === 0 ? null : i % 3 === 0 ? "gpt-4o" : "gpt-4o-mini",
          status: i % 17 === 0 ? 500 : 200,
          usage: { prompt: 100 + i, completion: 50 + (i % 13), cached: i % 5 },
          costMicros: 1000 + i * 3,
        }),
      );
    }
    for (const e of events) t.ctx.usage.record(e);
    // A re-send of a few, as a retried flush would: still counted once.
    for (const e of events.slice(0, 20)) t.ctx.usage.record(e);
    await t.ctx.usage.flush();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("answers equal sums of the recorded events, with key names, for an unaligned 7-day range", async () => {
    const since = now - 7 * 24 * H - 123_456;
    const r = await t.client.usage({ group_by: "key", since: new Date(since).toISOString() });
    const inRange = events.filter((e) => e.ts >= since);
    expect(r.data).toHaveLength(3);
    for (const k of keys) {
      const mine = inRange.filter((e) => e.keyId === k.id);
      expect(r.data.find((row) => row.group === k.id)).toEqual({
        group: k.id,
        name: k.name,
        requests: mine.length,
        errors: mine.filter((e) => e.status >= 400).length,
        prompt_tokens: mine.reduce((n, e) => n + e.usage.prompt, 0),
        completion_tokens: mine.reduce((n, e) => n + e.usage.completion, 0),
        cached_tokens: mine.reduce((n, e) => n + e.usage.cached, 0),
        cost_micros: mine.reduce((n, e) => n + e.costMicros, 0),
        cost_usd: mine.reduce((n, e) => n + e.costMicros, 0) / 1_000_000,
      } satisfies UsageRow);
    }
    const byProject = await t.client.usage({ group_by: "project" });
    expect(byProject.data.map((row) => row.name).sort()).toEqual(["batch", "web"]);
    const byModel = await t.client.usage({ group_by: "model" });
    expect(byModel.data.find((row) => row.group === "(none)")?.requests).toBe(
      events.filter((e) => e.model === null).length,
    );
  });

  it("every grouping and filter equals the raw-event query", async () => {
    const since = new Date(now - 5 * 24 * H - 777).toISOString();
    const until = new Date(now - 30 * 60_000).toISOString();
    for (const group_by of USAGE_GROUPS)
      for (const extra of [
        {},
        { key_id: keys[1]!.id },
        { project_id: keys[2]!.projectId },
        { model: "gpt-4o" },
      ]) {
        const api = await t.client.usage({ group_by, since, until, ...extra });
        const raw = await queryUsage(
          t.ctx.store.db,
          {
            groupBy: group_by,
            since: Date.parse(since),
            until: Date.parse(until),
            limit: 1000,
            ...("key_id" in extra ? { keyId: extra.key_id } : {}),
            ...("project_id" in extra ? { projectId: extra.project_id } : {}),
            ...("model" in extra ? { model: extra.model } : {}),
          },
          { rollups: false },
        );
        expect(
          api.data.map(({ name: _n, ...rest }) => rest),
          `${group_by} ${JSON.stringify(extra)}`,
        ).toEqual(raw.map(({ name: _n, ...rest }) => rest));
      }
  });

  it("exports CSV that parses back to the JSON rows, formulas defused", async () => {
    const json = await t.client.usage({ group_by: "key" });
    const res = await fetch(`${t.url}/api/v1/usage/export?format=csv&group_by=key`, {
      headers: { authorization: `Bearer ${t.ownerKey}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/csv/);
    const [header, ...rows] = parseCsv(await res.text());
    expect(header).toEqual([
      "key",
      "name",
      "requests",
      "errors",
      "prompt_tokens",
      "completion_tokens",
      "cached_tokens",
      "cost_micros",
      "cost_usd",
    ]);
    expect(rows).toHaveLength(json.data.length);
    for (const [i, row] of rows.entries()) {
      const j = json.data[i]!;
      const name = j.name!.startsWith("=") ? "'" + j.name : j.name;
      expect(row).toEqual([
        j.group,
        name,
        ...[j.requests, j.errors, j.prompt_tokens, j.completion_tokens, j.cached_tokens, j.cost_micros].map(
          String,
        ),
        (j.cost_micros / 1e6).toFixed(6),
      ]);
    }
    const bad = await fetch(`${t.url}/api/v1/usage/export?format=xml`, {
      headers: { authorization: `Bearer ${t.ownerKey}` },
    });
    expect(bad.status).toBe(400);
  });

  it("`keyward usage --by key --since 7d` prints names and a total; --csv prints the export", async () => {
    const text = await cliUsage(t, "--by", "key", "--since", "7d");
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toMatch(
      /^key\s+name\s+requests\s+errors\s+prompt\s+completion\s+cached\s+cost \(USD\)$/,
    );
    for (const k of keys) expect(text).toContain(k.name);
    const since = now - 7 * 24 * H;
    const inRange = events.filter((e) => e.ts >= since);
    const total = lines.at(-1)!;
    expect(total).toMatch(/^total \(3 rows\)/);
    const cost = inRange.reduce((n, e) => n + e.costMicros, 0);
    expect(total.split(/\s{2,}/).slice(1)).toEqual([
      inRange.length.toLocaleString("en-US"),
      String(inRange.filter((e) => e.status >= 400).length),
      inRange.reduce((n, e) => n + e.usage.prompt, 0).toLocaleString("en-US"),
      inRange.reduce((n, e) => n + e.usage.completion, 0).toLocaleString("en-US"),
      inRange.reduce((n, e) => n + e.usage.cached, 0).toLocaleString("en-US"),
      `${Math.floor(cost / 1e6)}.${String(cost % 1e6).padStart(6, "0")}`,
    ]);
    const csv = await cliUsage(t, "--by", "day", "--csv");
    expect(parseCsv(csv)[0]![0]).toBe("day");
  });
});
