import type { LeakReport } from "../api/client";
import { formatDate } from "../format";

/** Who sent a report, as people read it. */
function describeSource(source: string): string {
  if (source === "github") return "GitHub secret scanning";
  return source.startsWith("admin ") ? `reported through the API (${source.slice(6)})` : source;
}

/** The leak reports processed so far, newest first: what each held and what it did. */
export function LeakReports(props: { reports: LeakReport[] }) {
  return (
    <>
      <table>
        <caption>Leak reports received</caption>
        <thead>
          <tr>
            <th scope="col">Received</th>
            <th scope="col">From</th>
            <th scope="col">Tokens reported</th>
            <th scope="col">Keys contained</th>
          </tr>
        </thead>
        <tbody>
          {props.reports.map((r, i) => (
            <tr key={`${r.received_at}-${i}`}>
              <td>{formatDate(r.received_at)}</td>
              <td>{describeSource(r.source)}</td>
              <td>{r.tokens}</td>
              <td>{r.contained ?? "not recorded"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {props.reports.length === 0 ? <p className="hint">No leak report has arrived.</p> : null}
    </>
  );
}
