import { useCallback, useEffect, useState } from "react";
import { errorMessage, type WebhookDelivery } from "../api/client";
import { useSession } from "../api/context";
import { formatDate } from "../format";
import { ErrorText } from "./ErrorText";

const OUTCOME: Record<WebhookDelivery["outcome"], string> = {
  delivered: "Delivered",
  retrying: "Failed, will retry",
  failed: "Failed, gave up",
};

/** One webhook's delivery attempts, newest first; `version` refetches (e.g. after a test event). */
export function DeliveryLog({
  webhookId,
  name,
  version,
}: {
  webhookId: string;
  name: string;
  version: number;
}) {
  const { api } = useSession();
  const [rows, setRows] = useState<WebhookDelivery[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [refreshed, setRefreshed] = useState(0);
  const load = useCallback(
    (after?: string) =>
      api
        .GET("/api/v1/webhooks/{webhook_id}/deliveries", {
          params: { path: { webhook_id: webhookId }, query: { limit: 20, ...(after ? { after } : {}) } },
        })
        .then((r) => {
          if (!r.data) return setError(errorMessage(r.error, r.response));
          const page = r.data;
          setError(null);
          setRows((prev) => (after ? [...(prev ?? []), ...page.data] : page.data));
          setCursor(page.has_more ? page.next_cursor : null);
        }),
    [api, webhookId],
  );
  useEffect(() => {
    void load();
  }, [load, version, refreshed]);
  return (
    <section aria-labelledby="deliveries-heading">
      <h2 id="deliveries-heading">Delivery log: {name}</h2>
      <button type="button" onClick={() => setRefreshed((n) => n + 1)}>
        Refresh log
      </button>
      <ErrorText message={error} />
      {rows && rows.length === 0 ? <p className="hint">Nothing delivered yet.</p> : null}
      {rows?.length ? (
        <table>
          <caption>Deliveries, newest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Event</th>
              <th scope="col">Status</th>
              <th scope="col">HTTP</th>
              <th scope="col">Attempt</th>
              <th scope="col">Next retry</th>
              <th scope="col">Duration</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((d) => (
              <tr key={d.id}>
                <td>{formatDate(d.attempted_at)}</td>
                <td className="mono">{d.type}</td>
                <td>{OUTCOME[d.outcome]}</td>
                <td>{d.status_code ?? "—"}</td>
                <td>{d.attempt}</td>
                <td>{formatDate(d.next_retry_at)}</td>
                <td>{d.duration_ms} ms</td>
                <td>{d.error ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {cursor ? (
        <button type="button" onClick={() => void load(cursor)}>
          Load more deliveries
        </button>
      ) : null}
    </section>
  );
}
