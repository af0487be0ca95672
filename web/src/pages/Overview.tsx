import { useEffect, useMemo, useState } from "react";
import { Link } from "wouter";
import { errorMessage, type Api, type Delivery, type Key, type Project, type UsageRow } from "../api/client";
import { useSession } from "../api/context";
import { ErrorText } from "../components/ErrorText";
import { formatDate } from "../format";
import {
  budgetsNearLimit,
  dailySeries,
  keysNeedingAttention,
  monthStarts,
  periodStart,
  spendTrend,
  topKeys,
  usd,
  type BudgetUse,
} from "../overview";

type Period = "day" | "week" | "month" | "lifetime";

interface Data {
  days: UsageRow[];
  byKey: UsageRow[];
  /** Active keys with a budget of their own. */
  budgeted: Key[];
  /** Active keys that are stale or due for rotation within the week. */
  attention: Key[];
  spent: Partial<Record<Period, Map<string, number>>>;
  alerts: Delivery[];
}

/** Most pages of 100 budgeted keys read for "Budgets near their limit". */
const BUDGET_PAGES = 20;

/** Most webhooks whose delivery logs feed "Recent alerts". */
const ALERT_WEBHOOKS = 5;

/** Everything the Overview shows, from the existing API: usage, keys and webhook deliveries. */
async function loadOverview(api: Api, projectId: string, now: Date): Promise<Data | string> {
  const scope = projectId ? { project_id: projectId } : {};
  const { current, previous } = monthStarts(now);
  const usage = (group_by: "day" | "key", since?: Date) =>
    api.GET("/api/v1/usage", {
      params: {
        query: { group_by, limit: 10_000, ...scope, ...(since ? { since: since.toISOString() } : {}) },
      },
    });
  // The server picks the keys each panel needs, over every key: with thousands of keys, the first
  // page of the list would leave most budgets and deadlines out.
  const keys = (filter: { stale?: "true"; rotate_due_before?: string; budgeted?: "true"; after?: string }) =>
    api.GET("/api/v1/keys", {
      params: { query: { status: "active", limit: 100, ...filter, ...scope } },
    });
  const weekAhead = new Date(now.getTime() + 7 * 86_400_000).toISOString();
  const [days, byKey, budgeted, stale, due, hooks] = await Promise.all([
    usage("day", previous),
    usage("key", current),
    keys({ budgeted: "true" }),
    keys({ stale: "true" }),
    keys({ rotate_due_before: weekAhead }),
    api.GET("/api/v1/webhooks", { params: { query: scope } }),
  ]);
  if (!days.data) return errorMessage(days.error, days.response);
  if (!byKey.data) return errorMessage(byKey.error, byKey.response);
  if (!budgeted.data) return errorMessage(budgeted.error, budgeted.response);
  if (!stale.data) return errorMessage(stale.error, stale.response);
  if (!due.data) return errorMessage(due.error, due.response);
  // Every budgeted key counts for "near the limit" (budgets are few; pages are cheap).
  const budgetedKeys = [...budgeted.data.data];
  let next = budgeted.data.next_cursor;
  for (let page = 1; next && page < BUDGET_PAGES; page++) {
    const r = await keys({ budgeted: "true", after: next });
    if (!r.data) return errorMessage(r.error, r.response);
    budgetedKeys.push(...r.data.data);
    next = r.data.next_cursor;
  }
  const attention = new Map([...due.data.data, ...stale.data.data].map((k) => [k.id, k]));
  const toMap = (rows: UsageRow[]) => new Map(rows.map((r) => [r.group, r.cost_usd]));
  const spent: Data["spent"] = { month: toMap(byKey.data.data) };
  // Only the budget periods some key uses cost a query of their own.
  const periods = new Set(budgetedKeys.flatMap((k) => (k.limits?.budget ? [k.limits.budget.period] : [])));
  for (const period of periods) {
    if (period === "month") continue;
    const r = await usage("key", periodStart(period, now) ?? undefined);
    if (r.data) spent[period] = toMap(r.data.data);
  }
  const logs = await Promise.all(
    (hooks.data?.data ?? []).slice(0, ALERT_WEBHOOKS).map((h) =>
      api.GET("/api/v1/webhooks/{webhook_id}/deliveries", {
        params: { path: { webhook_id: h.id }, query: { limit: 20 } },
      }),
    ),
  );
  const alerts = logs
    .flatMap((l) => l.data?.data ?? [])
    .sort((a, b) => b.attempted_at.localeCompare(a.attempted_at))
    .filter(
      (d, i, all) => all.findIndex((o) => o.event_id === d.event_id && o.webhook_id === d.webhook_id) === i,
    )
    .slice(0, 10);
  return {
    days: days.data.data,
    byKey: byKey.data.data,
    budgeted: budgetedKeys,
    attention: [...attention.values()],
    spent,
    alerts,
  };
}

/** The console's home: spend and its trend, traffic, top keys, budgets, alerts, keys to act on. */
export function Overview() {
  const { api, user } = useSession();
  const [projects, setProjects] = useState<Project[]>([]);
  const limited = user?.projects ?? null;
  const [projectId, setProjectId] = useState(limited?.[0] ?? "");
  const [data, setData] = useState<Data | null>(null);
  const [error, setError] = useState<string | null>(null);
  const now = useMemo(() => new Date(), []);

  useEffect(() => {
    void api
      .GET("/api/v1/projects", { params: { query: { limit: 100 } } })
      .then((r) => setProjects(r.data?.data ?? []));
  }, [api]);
  useEffect(() => {
    let live = true;
    void loadOverview(api, projectId, now).then((r) => {
      if (!live) return;
      if (typeof r === "string") return setError(r);
      setError(null);
      setData(r);
    });
    return () => {
      live = false;
    };
  }, [api, projectId, now]);

  const trend = data ? spendTrend(data.days, now) : null;
  const names = new Map(projects.map((p) => [p.id, p.name]));
  return (
    <>
      <h1>Overview</h1>
      <div className="toolbar">
        <label htmlFor="overview-project">Project</label>
        <select id="overview-project" value={projectId} onChange={(e) => setProjectId(e.target.value)}>
          {limited === null ? <option value="">All projects</option> : null}
          {projects.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
        <Link href="/projects">All projects and their keys</Link>
      </div>
      <ErrorText message={error} />
      {data && trend ? (
        <>
          <section aria-label="This month" className="cards">
            <Card
              label="Spend this month"
              value={usd(trend.current.costUsd)}
              note={describeChange(trend.change)}
            />
            <Card label="Requests this month" value={trend.current.requests.toLocaleString("en-US")} />
            <Card
              label="Errors this month"
              value={trend.current.errors.toLocaleString("en-US")}
              note={
                trend.current.requests > 0
                  ? `${((trend.current.errors / trend.current.requests) * 100).toFixed(1)}% of requests`
                  : undefined
              }
            />
          </section>
          <DailyTable rows={dailySeries(data.days, now)} />
          <TopKeys rows={topKeys(data.byKey)} />
          <Budgets rows={budgetsNearLimit(data.budgeted, data.spent)} />
          <Attention rows={keysNeedingAttention(data.attention, now)} names={names} />
          <Alerts rows={data.alerts} />
        </>
      ) : error ? null : (
        <p className="loading">Loading…</p>
      )}
    </>
  );
}

function describeChange(change: number | null): string {
  if (change === null) return "No spend in the same days of last month";
  const pct = Math.round(change * 100);
  return `${pct > 0 ? "+" : ""}${pct}% against the same days of last month`;
}

function Card({ label, value, note }: { label: string; value: string; note?: string | undefined }) {
  return (
    <div className="card">
      <h2>{label}</h2>
      <p className="figure">{value}</p>
      {note ? <p className="hint">{note}</p> : null}
    </div>
  );
}

function DailyTable({ rows }: { rows: ReturnType<typeof dailySeries> }) {
  const max = Math.max(...rows.map((r) => r.costUsd), 0);
  return (
    <table>
      <caption>Daily spend, last 14 days (UTC)</caption>
      <thead>
        <tr>
          <th scope="col">Day</th>
          <th scope="col">Spend</th>
          <th scope="col">Requests</th>
          <th scope="col">Errors</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.day}>
            <td>{r.day}</td>
            <td>
              <meter className="bar" min={0} max={max || 1} value={r.costUsd} aria-hidden="true" />{" "}
              {usd(r.costUsd)}
            </td>
            <td>{r.requests}</td>
            <td>{r.errors}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function TopKeys({ rows }: { rows: UsageRow[] }) {
  return (
    <table>
      <caption>Top keys by cost this month</caption>
      <thead>
        <tr>
          <th scope="col">Key</th>
          <th scope="col">Spend</th>
          <th scope="col">Requests</th>
          <th scope="col">Errors</th>
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 ? (
          <tr>
            <td colSpan={4}>No requests this month.</td>
          </tr>
        ) : null}
        {rows.map((r) => (
          <tr key={r.group}>
            <td>
              <Link href={`/usage?key_id=${r.group}&group_by=day`}>{r.name ?? r.group}</Link>
            </td>
            <td>{usd(r.cost_usd)}</td>
            <td>{r.requests}</td>
            <td>{r.errors}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Budgets({ rows }: { rows: BudgetUse[] }) {
  return (
    <table>
      <caption>Budgets near their limit (80% or more, UTC periods)</caption>
      <thead>
        <tr>
          <th scope="col">Key</th>
          <th scope="col">Spent</th>
          <th scope="col">Budget</th>
          <th scope="col">Used</th>
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 ? (
          <tr>
            <td colSpan={4}>No budget is near its limit.</td>
          </tr>
        ) : null}
        {rows.map((b) => (
          <tr key={b.key.id}>
            <td>{b.key.name}</td>
            <td>{usd(b.spentUsd)}</td>
            <td>
              {usd(b.limitUsd)} per {b.key.limits?.budget?.period}
            </td>
            <td>{Math.round(b.share * 100)}%</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Attention({
  rows,
  names,
}: {
  rows: ReturnType<typeof keysNeedingAttention>;
  names: Map<string, string>;
}) {
  return (
    <table>
      <caption>Keys due for rotation or stale</caption>
      <thead>
        <tr>
          <th scope="col">Key</th>
          <th scope="col">Project</th>
          <th scope="col">Rotate by</th>
          <th scope="col">Last used</th>
          <th scope="col">Why</th>
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 ? (
          <tr>
            <td colSpan={5}>Every key is within its rotation policy and in use.</td>
          </tr>
        ) : null}
        {rows.map(({ key, why }) => (
          <tr key={key.id}>
            <td>
              <Link href={`/projects/${key.project_id}`}>{key.name}</Link>
            </td>
            <td>{names.get(key.project_id) ?? key.project_id}</td>
            <td>{formatDate(key.rotate_by)}</td>
            <td>{formatDate(key.last_used_at)}</td>
            <td>{why}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Alerts({ rows }: { rows: Delivery[] }) {
  return (
    <table>
      <caption>Recent alerts (webhook deliveries)</caption>
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Event</th>
          <th scope="col">Delivery</th>
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 ? (
          <tr>
            <td colSpan={3}>No alerts sent yet.</td>
          </tr>
        ) : null}
        {rows.map((d) => (
          <tr key={d.id}>
            <td>{formatDate(d.attempted_at)}</td>
            <td>{d.type}</td>
            <td>
              {d.outcome}
              {d.status_code ? ` (${d.status_code})` : ""}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
