import { lazy, Suspense, useEffect, useMemo, useState } from "react";
import { useSearch } from "wouter";
import { errorMessage, type Schemas } from "../api/client";
import { useSession } from "../api/context";
import { ErrorText } from "../components/ErrorText";

const UsageChart = lazy(() => import("../components/UsageChart"));
type GroupBy = "key" | "project" | "model" | "day" | "hour";
const GROUPS: GroupBy[] = ["day", "hour", "key", "project", "model"];

function isoDay(offsetDays: number): string {
  return new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
}

/** Usage by key, project, model, day or hour over a date range, with a chart and a CSV download. */
export function Usage() {
  const { api } = useSession();
  const params = new URLSearchParams(useSearch());
  const keyId = params.get("key_id") ?? undefined;
  const [groupBy, setGroupBy] = useState<GroupBy>((params.get("group_by") as GroupBy | null) ?? "day");
  const [since, setSince] = useState(isoDay(-30));
  const [until, setUntil] = useState(isoDay(1));
  const [rows, setRows] = useState<Schemas["UsageRow"][]>([]);
  const [error, setError] = useState<string | null>(null);
  const query = useMemo(
    () => ({
      group_by: groupBy,
      since: `${since}T00:00:00Z`,
      until: `${until}T00:00:00Z`,
      ...(keyId ? { key_id: keyId } : {}),
    }),
    [groupBy, since, until, keyId],
  );
  useEffect(() => {
    void api.GET("/api/v1/usage", { params: { query } }).then((r) => {
      if (r.data) {
        setRows(r.data.data);
        setError(null);
      } else setError(errorMessage(r.error, r.response));
    });
  }, [api, query]);
  const csv = `/api/v1/usage/export?${new URLSearchParams({ ...query, format: "csv" })}`;
  const overTime = groupBy === "day" || groupBy === "hour";
  return (
    <>
      <h1>Usage{keyId ? ` of ${rows[0]?.name ?? keyId}` : ""}</h1>
      <div className="toolbar">
        <label htmlFor="group-by">Group by</label>
        <select id="group-by" value={groupBy} onChange={(e) => setGroupBy(e.target.value as GroupBy)}>
          {GROUPS.map((g) => (
            <option key={g} value={g}>
              {g}
            </option>
          ))}
        </select>
        <label htmlFor="since">From</label>
        <input id="since" type="date" value={since} onChange={(e) => setSince(e.target.value)} />
        <label htmlFor="until">Until</label>
        <input id="until" type="date" value={until} onChange={(e) => setUntil(e.target.value)} />
        <a href={csv} download="usage.csv">
          Download CSV
        </a>
      </div>
      <ErrorText message={error} />
      {overTime && rows.length ? (
        <Suspense fallback={<p>Loading the chart…</p>}>
          <UsageChart rows={rows} />
        </Suspense>
      ) : null}
      <table>
        <caption>Usage by {groupBy}</caption>
        <thead>
          <tr>
            <th scope="col">{groupBy}</th>
            <th scope="col">Requests</th>
            <th scope="col">Errors</th>
            <th scope="col">Input tokens</th>
            <th scope="col">Output tokens</th>
            <th scope="col">Cost (USD)</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.group}>
              <td>{r.name ?? r.group}</td>
              <td>{r.requests}</td>
              <td>{r.errors}</td>
              <td>{r.prompt_tokens}</td>
              <td>{r.completion_tokens}</td>
              <td>{r.cost_usd.toFixed(6)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
