import { useEffect, useState } from "react";
import { errorMessage, type AuditEntry, type Schemas } from "../api/client";
import { useSession } from "../api/context";
import { formatDate } from "../format";
import { ErrorText } from "./ErrorText";

/** The client IPs a key was used from (first sighting each). */
export function KeyIps({ keyId, version }: { keyId: string; version: number }) {
  const { api } = useSession();
  const [ips, setIps] = useState<Schemas["KeyIp"][] | null>(null);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    void api.GET("/api/v1/keys/{key_id}/ips", { params: { path: { key_id: keyId } } }).then((r) => {
      if (!r.data) return setError(errorMessage(r.error, r.response));
      setIps(r.data.data);
      setMore(r.data.has_more);
    });
  }, [api, keyId, version]);
  return (
    <section aria-labelledby="ips-heading">
      <h2 id="ips-heading">Used from</h2>
      <ErrorText message={error} />
      {ips && ips.length === 0 ? <p className="hint">No requests recorded yet.</p> : null}
      {ips?.length ? (
        <table>
          <caption>IP addresses this key was used from</caption>
          <thead>
            <tr>
              <th scope="col">IP address</th>
              <th scope="col">First seen</th>
            </tr>
          </thead>
          <tbody>
            {ips.map((ip) => (
              <tr key={ip.ip}>
                <td className="mono">{ip.ip}</td>
                <td>{formatDate(ip.first_seen_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {more ? <p className="hint">Showing the 100 most recent.</p> : null}
    </section>
  );
}

/** What changed, in one line: the audit entry's fields, never a secret (the log holds none). */
function describeChanges(changes: AuditEntry["changes"]): string {
  const parts = Object.entries(changes).map(
    ([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`,
  );
  const line = parts.join("; ");
  return line.length > 120 ? `${line.slice(0, 117)}…` : line;
}

/** The key's audit trail, newest first. `version` refetches it after an action on the page. */
export function KeyAudit({ keyId, version }: { keyId: string; version: number }) {
  const { api } = useSession();
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    void api
      .GET("/api/v1/audit", { params: { query: { target_id: keyId, limit: 50 } } })
      .then((r) => (r.data ? setEntries(r.data.data) : setError(errorMessage(r.error, r.response))));
  }, [api, keyId, version]);
  return (
    <section aria-labelledby="audit-heading">
      <h2 id="audit-heading">Audit trail</h2>
      <ErrorText message={error} />
      {entries ? (
        <table>
          <caption>Changes to this key, newest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Action</th>
              <th scope="col">By</th>
              <th scope="col">From</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.id}>
                <td>{formatDate(e.ts)}</td>
                <td>{e.action}</td>
                <td className="mono">{e.actor_id}</td>
                <td className="mono">{e.ip ?? "—"}</td>
                <td className="wrap">{describeChanges(e.changes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
