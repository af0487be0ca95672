import { useEffect, useState } from "react";
import { errorMessage, type BudgetStatus, type Key, type Schemas } from "../api/client";
import { useSession } from "../api/context";
import { formatDate } from "../format";
import { ErrorText } from "./ErrorText";

/** Dollars with the cents, and small amounts (a few requests) with enough digits to be seen. */
const usd = (n: number) => `$${n === 0 || n >= 1 ? n.toFixed(2) : n.toFixed(n < 0.01 ? 6 : 4)}`;

function Budget({ title, status }: { title: string; status: BudgetStatus }) {
  const pct = status.limit_usd > 0 ? Math.min(100, (status.spent_usd / status.limit_usd) * 100) : 0;
  return (
    <div>
      <h3>{title}</h3>
      <p>
        {usd(status.spent_usd)} spent of {usd(status.limit_usd)} this {status.period} ({pct.toFixed(0)}%)
      </p>
      <meter
        className="meter"
        min={0}
        max={100}
        high={80}
        value={pct}
        aria-label={`${title}: percent spent`}
      />
      <p className="hint">
        {status.resets_at ? `Resets ${formatDate(status.resets_at)}` : "A lifetime budget: it never resets"} ·
        period {status.timezone}
      </p>
    </div>
  );
}

/** The key's rate limits and its budget (and its project's) with spent / limit / resets at. */
export function KeyBudget({ apiKey }: { apiKey: Key }) {
  const { api } = useSession();
  const [budget, setBudget] = useState<Schemas["KeyBudget"] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    void api
      .GET("/api/v1/keys/{key_id}/budget", { params: { path: { key_id: apiKey.id } } })
      .then((r) => (r.data ? setBudget(r.data) : setError(errorMessage(r.error, r.response))));
  }, [api, apiKey]);
  const l = apiKey.limits;
  return (
    <section aria-labelledby="limits-heading">
      <h2 id="limits-heading">Limits and budget</h2>
      <dl className="facts">
        <dt>Requests per minute</dt>
        <dd>{l?.rpm?.toLocaleString() ?? "No limit"}</dd>
        <dt>Tokens per minute</dt>
        <dd>{l?.tpm?.toLocaleString() ?? "No limit"}</dd>
        <dt>Concurrent requests</dt>
        <dd>{l?.max_concurrent?.toLocaleString() ?? "No limit"}</dd>
      </dl>
      <ErrorText message={error} />
      {budget?.key ? <Budget title="Key budget" status={budget.key} /> : null}
      {budget?.project ? <Budget title="Project budget (all its keys)" status={budget.project} /> : null}
      {budget && !budget.key && !budget.project ? <p>No budget: spend is not capped.</p> : null}
    </section>
  );
}
