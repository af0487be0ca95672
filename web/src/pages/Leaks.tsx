import { useCallback, useEffect, useState, type FormEvent } from "react";
import {
  errorMessage,
  type Api,
  type AuditEntry,
  type Key,
  type LeakReport,
  type Project,
} from "../api/client";
import { can, useSession } from "../api/context";
import { Dialog } from "../components/Dialog";
import { ErrorText } from "../components/ErrorText";
import { SecretOnce } from "../components/SecretOnce";
import { LeakReports } from "../components/LeakReports";
import { formatDate } from "../format";

/** Keys contained after a leak: revoked or disabled with a reason the leak defence writes. */
export function leakContainments(entries: AuditEntry[]): AuditEntry[] {
  return entries.filter((e) => {
    const reason = e.changes.reason;
    return typeof reason === "string" && reason.startsWith("leaked:");
  });
}

/** Most keys read when looking for canaries (5 pages of 100). */
const CANARY_PAGES = 5;

interface LeakData {
  /** Null: the reader's access is limited to some projects, and reports cover every one. */
  reports: LeakReport[] | null;
  contained: AuditEntry[];
  canaryUses: AuditEntry[];
  canaries: Key[];
  /** Every key read, by id, to name the keys in the audit entries. */
  keys: Map<string, Key>;
  projects: Project[];
}

/** Most recent leak reports listed. */
const REPORTS = 50;

/**
 * What the page shows; the audit log only for roles that may read it, and the reports only for
 * those who also see every project (`everyProject`).
 */
async function fetchLeaks(api: Api, auditable: boolean, everyProject: boolean): Promise<LeakData | string> {
  let contained: AuditEntry[] = [];
  let canaryUses: AuditEntry[] = [];
  let reports: LeakReport[] | null = null;
  if (auditable && everyProject) {
    const r = await api.GET("/api/v1/leaks/reports", { params: { query: { limit: REPORTS } } });
    if (!r.data) return errorMessage(r.error, r.response);
    reports = r.data.data;
  }
  if (auditable) {
    const [revoked, disabled, used] = await Promise.all(
      ["key.revoked", "key.disabled", "key.canary_used"].map((action) =>
        api.GET("/api/v1/audit", { params: { query: { action, limit: 1000 } } }),
      ),
    );
    if (!revoked?.data) return errorMessage(revoked?.error, revoked?.response);
    const all = [...revoked.data.data, ...(disabled?.data?.data ?? [])].sort((a, b) => b.seq - a.seq);
    contained = leakContainments(all);
    canaryUses = used?.data?.data ?? [];
  }
  const canaries: Key[] = [];
  const keys = new Map<string, Key>();
  let after: string | undefined;
  for (let page = 0; page < CANARY_PAGES; page++) {
    const r = await api.GET("/api/v1/keys", {
      params: { query: { limit: 100, ...(after ? { after } : {}) } },
    });
    if (!r.data) return errorMessage(r.error, r.response);
    canaries.push(...r.data.data.filter((k) => k.canary));
    for (const k of r.data.data) keys.set(k.id, k);
    if (!r.data.has_more || !r.data.next_cursor) break;
    after = r.data.next_cursor;
  }
  const p = await api.GET("/api/v1/projects", { params: { query: { limit: 100 } } });
  return { reports, contained, canaryUses, canaries, keys, projects: p.data?.data ?? [] };
}

/**
 * Leaks: which keys were contained after a leak report or `keyward scan --revoke`, from the
 * audit log; canary keys and every recorded use of one; a form to report a leaked key.
 */
export function Leaks() {
  const { api, user } = useSession();
  const [reports, setReports] = useState<LeakReport[] | null>(null);
  const [contained, setContained] = useState<AuditEntry[]>([]);
  const [canaryUses, setCanaryUses] = useState<AuditEntry[]>([]);
  const [canaries, setCanaries] = useState<Key[]>([]);
  const [keys, setKeys] = useState<Map<string, Key>>(new Map());
  const [projects, setProjects] = useState<Project[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<string | null>(null);
  const auditable = can(user, "read-audit");
  const everyProject = user?.projects === null;
  const reporter = can(user, "write-projects");

  const load = useCallback(
    () =>
      fetchLeaks(api, auditable, everyProject).then((r) => {
        if (typeof r === "string") return setError(r);
        setReports(r.reports);
        setContained(r.contained);
        setCanaryUses(r.canaryUses);
        setCanaries(r.canaries);
        setKeys(r.keys);
        setProjects(r.projects);
      }),
    [api, auditable, everyProject],
  );
  useEffect(() => {
    void load();
  }, [load]);

  const names = new Map(projects.map((p) => [p.id, p.name]));
  const keyName = (id: string) => {
    const k = keys.get(id);
    return k ? `${k.name} (${k.masked_key})` : id;
  };
  const close = useCallback(() => {
    setSecret(null);
    setCreating(false);
  }, []);

  return (
    <>
      <h1>Leaks</h1>
      <p className="hint">
        Leak reports (GitHub secret scanning, <code>POST /api/v1/leaks</code>) and{" "}
        <code>keyward scan --revoke</code> contain a leaked key at once under its project&apos;s leak action.
        Each report is listed with how many keys it contained (never the tokens); which keys, and why, is in
        the audit log, shown below.
      </p>
      <ErrorText message={creating ? null : error} />
      <p role="status">{notice ?? ""}</p>
      {reports ? <LeakReports reports={reports} /> : null}
      {auditable ? (
        <table>
          <caption>Keys contained after a leak</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Key</th>
              <th scope="col">What happened</th>
              <th scope="col">Reported by, where</th>
            </tr>
          </thead>
          <tbody>
            {contained.map((e) => (
              <tr key={e.seq}>
                <td>{formatDate(e.ts)}</td>
                <td className="mono">{keyName(e.target_id)}</td>
                <td>{e.action === "key.revoked" ? "revoked automatically" : "disabled automatically"}</td>
                <td>{String(e.changes.reason).replace(/^leaked: /, "")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="hint">Your role does not include the audit log, where contained leaks are recorded.</p>
      )}
      {auditable && contained.length === 0 ? <p className="hint">No leaked keys so far.</p> : null}
      {reporter ? (
        <ReportLeak api={api} onReported={(n) => (setNotice(n), void load())} onError={setError} />
      ) : null}
      <h2>Canary keys</h2>
      <p className="hint">
        A canary key never works; any use of it is recorded and raises a <code>key.canary_used</code> alert.
        Plant one where a leak would be found first.
      </p>
      {can(user, "write-keys") && projects.length > 0 ? (
        <div className="toolbar">
          <button type="button" onClick={() => setCreating(true)}>
            Create canary key
          </button>
        </div>
      ) : null}
      <table>
        <caption>Canary keys</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Key</th>
            <th scope="col">Project</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {canaries.map((k) => (
            <tr key={k.id}>
              <td>{k.name}</td>
              <td className="mono">{k.masked_key}</td>
              <td>{names.get(k.project_id) ?? k.project_id}</td>
              <td>{formatDate(k.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {auditable ? (
        <table>
          <caption>Canary key uses</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Key</th>
              <th scope="col">From IP</th>
              <th scope="col">User agent</th>
            </tr>
          </thead>
          <tbody>
            {canaryUses.map((e) => (
              <tr key={e.seq}>
                <td>{formatDate(e.ts)}</td>
                <td className="mono">{keyName(e.target_id)}</td>
                <td>{e.ip ?? "—"}</td>
                <td>{e.user_agent ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {creating ? (
        <Dialog title={secret ? "Save your canary key" : "Create canary key"} onClose={close}>
          {secret ? (
            <SecretOnce secret={secret} onDone={close} />
          ) : (
            <CanaryForm
              projects={projects}
              onCancel={close}
              onSubmit={async (projectId, name) => {
                const r = await api.POST("/api/v1/projects/{project_id}/keys", {
                  params: { path: { project_id: projectId } },
                  body: { name, canary: true },
                });
                if (!r.data) return setError(errorMessage(r.error, r.response));
                setError(null);
                setSecret(r.data.key);
                await load();
              }}
            />
          )}
          <ErrorText message={error} />
        </Dialog>
      ) : null}
    </>
  );
}

/** Report a leaked key by hand (owners and admins), as a leak report of one token. */
function ReportLeak(props: { api: Api; onReported(notice: string): void; onError(message: string): void }) {
  const [token, setToken] = useState("");
  const [location, setLocation] = useState("");
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const r = await props.api.POST("/api/v1/leaks", {
      body: [{ token: token.trim(), ...(location.trim() ? { location: location.trim() } : {}) }],
    });
    if (r.error !== undefined) return props.onError(errorMessage(r.error, r.response));
    setToken("");
    setLocation("");
    props.onReported("Report received. If it is a live keyward key, it has been contained.");
  };
  return (
    <form className="inline" onSubmit={(e) => void submit(e)} aria-label="Report a leaked key">
      <label htmlFor="leak-token">Leaked key</label>
      <input
        id="leak-token"
        required
        autoComplete="off"
        className="mono"
        value={token}
        onChange={(e) => setToken(e.target.value)}
      />
      <label htmlFor="leak-location">Where it was found</label>
      <input id="leak-location" value={location} onChange={(e) => setLocation(e.target.value)} />
      <button type="submit">Report leak</button>
    </form>
  );
}

function CanaryForm(props: {
  projects: Project[];
  onSubmit(projectId: string, name: string): Promise<void>;
  onCancel(): void;
}) {
  const [projectId, setProjectId] = useState(props.projects[0]?.id ?? "");
  const [name, setName] = useState("");
  return (
    <form className="stack" onSubmit={(e) => (e.preventDefault(), void props.onSubmit(projectId, name))}>
      <label htmlFor="canary-project">Project</label>
      <select id="canary-project" value={projectId} onChange={(e) => setProjectId(e.target.value)}>
        {props.projects.map((p) => (
          <option key={p.id} value={p.id}>
            {p.name}
          </option>
        ))}
      </select>
      <label htmlFor="canary-name">Name</label>
      <input id="canary-name" required value={name} onChange={(e) => setName(e.target.value)} />
      <div className="buttons">
        <button type="submit">Create canary key</button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
