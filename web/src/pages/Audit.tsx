import { useCallback, useEffect, useState, type FormEvent } from "react";
import { errorMessage, type AuditEntry } from "../api/client";
import { useSession } from "../api/context";
import { ErrorText } from "../components/ErrorText";
import { auditQuery, describeReport, EMPTY_FILTER, type AuditFilterForm } from "../audit";
import { formatDate } from "../format";

const PAGE = 50;

/** The audit log, newest first: filters, paging, and a check of the hash chain. */
export function Audit() {
  const { api } = useSession();
  const [form, setForm] = useState<AuditFilterForm>(EMPTY_FILTER);
  const [filter, setFilter] = useState<AuditFilterForm>(EMPTY_FILTER);
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [before, setBefore] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [report, setReport] = useState<string | null>(null);
  const [verifying, setVerifying] = useState(false);

  const load = useCallback(
    (beforeSeq?: number) => {
      const query = { ...auditQuery(filter), limit: PAGE, ...(beforeSeq ? { before_seq: beforeSeq } : {}) };
      return api.GET("/api/v1/audit", { params: { query } }).then((r) => {
        if (!r.data) return setError(errorMessage(r.error, r.response));
        setError(null);
        const page = r.data;
        setEntries((prev) => (beforeSeq ? [...prev, ...page.data] : page.data));
        setBefore(page.next_before_seq);
      });
    },
    [api, filter],
  );
  useEffect(() => {
    void load();
  }, [load]);

  const verify = async () => {
    setVerifying(true);
    setReport(null);
    const r = await api.GET("/api/v1/audit/verify");
    setVerifying(false);
    if (!r.data) return setError(errorMessage(r.error, r.response));
    setReport(describeReport(r.data));
  };
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setFilter(form);
  };
  const field = (name: keyof AuditFilterForm) => ({
    id: `audit-${name}`,
    value: form[name],
    onChange: (e: { target: { value: string } }) => setForm({ ...form, [name]: e.target.value }),
  });

  return (
    <>
      <h1>Audit log</h1>
      <ErrorText message={error} />
      <div className="toolbar">
        <button type="button" disabled={verifying} onClick={() => void verify()}>
          Verify chain
        </button>
        <p role="status" className={report?.includes("tampered") ? "error" : ""}>
          {verifying ? "Verifying…" : (report ?? "")}
        </p>
      </div>
      <form className="inline" onSubmit={apply} aria-label="Filter the audit log">
        <label htmlFor="audit-actor">Actor</label>
        <input {...field("actor")} placeholder="usr_… or adm_…" />
        <label htmlFor="audit-action">Action</label>
        <input {...field("action")} placeholder="key.revoked" />
        <label htmlFor="audit-target">Target</label>
        <input {...field("target")} placeholder="key_…" />
        <label htmlFor="audit-since">From</label>
        <input {...field("since")} type="date" />
        <label htmlFor="audit-until">To</label>
        <input {...field("until")} type="date" />
        <button type="submit">Filter</button>
        <button
          type="button"
          onClick={() => {
            setForm(EMPTY_FILTER);
            setFilter(EMPTY_FILTER);
          }}
        >
          Clear
        </button>
      </form>
      <table>
        <caption>Audit entries</caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">When</th>
            <th scope="col">Actor</th>
            <th scope="col">Action</th>
            <th scope="col">Target</th>
            <th scope="col">IP</th>
            <th scope="col">Changes</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr key={e.seq}>
              <td>{e.seq}</td>
              <td>{formatDate(e.ts)}</td>
              <td>
                {e.actor_name ?? e.actor_id}
                {e.actor_role ? ` (${e.actor_role})` : ""}
                {e.actor_name ? <span className="mono small block">{e.actor_id}</span> : null}
              </td>
              <td>{e.action}</td>
              <td className="mono small">
                {e.target_type} {e.target_id}
              </td>
              <td>{e.ip ?? "—"}</td>
              <td className="mono small wide">{summarise(e.changes)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {entries.length === 0 ? <p className="hint">No entries match.</p> : null}
      {before ? (
        <button type="button" onClick={() => void load(before)}>
          Older entries
        </button>
      ) : null}
    </>
  );
}

/** A short, text-only view of an entry's changes (markup in values stays text). */
function summarise(changes: Record<string, unknown>): string {
  const text = JSON.stringify(changes);
  return text.length > 160 ? `${text.slice(0, 157)}…` : text;
}
