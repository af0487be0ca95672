import { lazy, Suspense, useEffect, useMemo, useState } from "react";
import { Link } from "wouter";
import { errorMessage, type Schemas } from "../api/client";
import { useSession } from "../api/context";
import { ErrorText } from "./ErrorText";

const UsageChart = lazy(() => import("./UsageChart"));

/** The windows the key page offers: by hour over a day, or by day over a month. */
const WINDOWS = {
  hour: { label: "Last 24 hours, by hour", ms: 86_400_000 },
  day: { label: "Last 30 days, by day", ms: 30 * 86_400_000 },
} as const;
type Bucket = keyof typeof WINDOWS;

const plural = (n: number, word: string) => `${n.toLocaleString()} ${word}${n === 1 ? "" : "s"}`;

/** One key's requests, tokens and cost over time: totals in words, then the chart. */
export function KeyUsage({ keyId }: { keyId: string }) {
  const { api } = useSession();
  const [bucket, setBucket] = useState<Bucket>("hour");
  const [rows, setRows] = useState<Schemas["UsageRow"][] | null>(null);
  const [range, setRange] = useState<readonly [number, number] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [refreshed, setRefreshed] = useState(0);
  useEffect(() => {
    const now = Date.now();
    // Until the next whole hour, so the current hour's requests are in.
    const until = new Date(Math.ceil(now / 3_600_000) * 3_600_000 + 3_600_000);
    const since = new Date(until.getTime() - WINDOWS[bucket].ms);
    const query = { group_by: bucket, key_id: keyId, since: since.toISOString(), until: until.toISOString() };
    void api.GET("/api/v1/usage", { params: { query } }).then((r) => {
      if (r.data) {
        setRows(r.data.data);
        setRange([since.getTime(), until.getTime()]);
        setError(null);
      } else setError(errorMessage(r.error, r.response));
    });
  }, [api, keyId, bucket, refreshed]);
  const total = useMemo(
    () =>
      (rows ?? []).reduce(
        (t, r) => ({
          requests: t.requests + r.requests,
          errors: t.errors + r.errors,
          tokens: t.tokens + r.prompt_tokens + r.completion_tokens,
          cost: t.cost + r.cost_usd,
        }),
        { requests: 0, errors: 0, tokens: 0, cost: 0 },
      ),
    [rows],
  );
  return (
    <section aria-labelledby="usage-heading">
      <h2 id="usage-heading">Usage</h2>
      <div className="toolbar">
        <label htmlFor="usage-window">Period</label>
        <select id="usage-window" value={bucket} onChange={(e) => setBucket(e.target.value as Bucket)}>
          {(Object.keys(WINDOWS) as Bucket[]).map((b) => (
            <option key={b} value={b}>
              {WINDOWS[b].label}
            </option>
          ))}
        </select>
        <button type="button" onClick={() => setRefreshed((n) => n + 1)}>
          Refresh usage
        </button>
        <Link href={`/usage?key_id=${keyId}&group_by=${bucket}`}>Open in Usage</Link>
      </div>
      <ErrorText message={error} />
      {rows ? (
        <p className="summary" aria-live="polite">
          {plural(total.requests, "request")} · {plural(total.errors, "error")} ·{" "}
          {plural(total.tokens, "token")} · ${total.cost.toFixed(6)}
        </p>
      ) : (
        <p>Loading usage…</p>
      )}
      {rows?.length ? (
        <Suspense fallback={<p>Loading the chart…</p>}>
          <UsageChart
            rows={rows}
            {...(range ? { range } : {})}
            caption={`Usage of this key, ${WINDOWS[bucket].label.toLowerCase()}`}
          />
        </Suspense>
      ) : rows ? (
        <p className="hint">No requests in this period.</p>
      ) : null}
    </section>
  );
}
