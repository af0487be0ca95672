import { useCallback, useEffect, useState, type FormEvent } from "react";
import { errorMessage, type Project, type Upstream } from "../api/client";
import { can, useSession } from "../api/context";
import { Dialog } from "../components/Dialog";
import { ErrorText } from "../components/ErrorText";
import { RotationPolicy, type PolicyBody } from "../components/RotationPolicy";
import { formatDate } from "../format";

/** Per project: the rotation policy, and the upstream providers with their (masked) keys. */
export function Settings() {
  const { api, user } = useSession();
  const [projects, setProjects] = useState<Project[]>([]);
  const [projectId, setProjectId] = useState("");
  const [upstreams, setUpstreams] = useState<Upstream[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [rotating, setRotating] = useState<Upstream | null>(null);
  const writable = can(user, "write-projects");
  const project = projects.find((p) => p.id === projectId);

  const loadProjects = useCallback(
    () =>
      api.GET("/api/v1/projects", { params: { query: { limit: 100 } } }).then((r) => {
        if (!r.data) return setError(errorMessage(r.error, r.response));
        const list = r.data.data;
        setProjects(list);
        setProjectId((current) => current || (list[0]?.id ?? ""));
      }),
    [api],
  );
  const loadUpstreams = useCallback(
    () =>
      projectId
        ? api
            .GET("/api/v1/projects/{project_id}/upstreams", { params: { path: { project_id: projectId } } })
            .then((r) => {
              if (!r.data) return setError(errorMessage(r.error, r.response));
              setUpstreams(r.data.data);
            })
        : Promise.resolve(),
    [api, projectId],
  );
  useEffect(() => {
    void loadProjects();
  }, [loadProjects]);
  useEffect(() => {
    void loadUpstreams();
  }, [loadUpstreams]);

  const savePolicy = async (body: PolicyBody) => {
    const r = await api.PATCH("/api/v1/projects/{project_id}", {
      params: { path: { project_id: projectId } },
      body,
    });
    if (!r.data) return setError(errorMessage(r.error, r.response));
    const saved = r.data;
    setError(null);
    setNotice(`Rotation policy of ${saved.name} saved.`);
    setProjects((prev) => prev.map((p) => (p.id === saved.id ? saved : p)));
  };
  const rotate = async (u: Upstream, apiKey: string) => {
    const r = await api.PATCH("/api/v1/upstreams/{upstream_id}", {
      params: { path: { upstream_id: u.id } },
      body: { api_key: apiKey },
    });
    if (!r.data) return setError(errorMessage(r.error, r.response));
    setError(null);
    setRotating(null);
    setNotice(`The key of ${u.name} was replaced: requests use it from now on.`);
    await loadUpstreams();
  };

  return (
    <>
      <h1>Settings</h1>
      <ErrorText message={rotating ? null : error} />
      <p role="status">{notice ?? ""}</p>
      <div className="toolbar">
        <label htmlFor="settings-project">Project</label>
        <select
          id="settings-project"
          value={projectId}
          onChange={(e) => (setProjectId(e.target.value), setNotice(null))}
        >
          {projects.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
      </div>
      {project ? (
        <>
          <h2>Rotation policy</h2>
          <RotationPolicy
            key={project.id + project.updated_at}
            project={project}
            writable={writable}
            onSave={savePolicy}
          />
          <h2>Upstream providers</h2>
          <table>
            <caption>Upstream providers of {project.name}</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Base URL</th>
                <th scope="col">Key</th>
                <th scope="col">Priority</th>
                <th scope="col">Updated</th>
                {writable ? <th scope="col">Actions</th> : null}
              </tr>
            </thead>
            <tbody>
              {upstreams.map((u) => (
                <tr key={u.id}>
                  <td>{u.name}</td>
                  <td className="mono">{u.base_url}</td>
                  <td className="mono">{u.masked_api_key}</td>
                  <td>{u.priority}</td>
                  <td>{formatDate(u.updated_at)}</td>
                  {writable ? (
                    <td>
                      <button
                        type="button"
                        aria-label={`Rotate key of ${u.name}`}
                        onClick={() => setRotating(u)}
                      >
                        Rotate key
                      </button>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
          {upstreams.length === 0 ? (
            <p className="hint">
              No upstream of its own: this project uses the server&apos;s default provider.
            </p>
          ) : null}
        </>
      ) : (
        <p className="hint">No project yet.</p>
      )}
      {rotating ? (
        <Dialog title={`Rotate key of ${rotating.name}`} onClose={() => setRotating(null)}>
          <RotateUpstreamForm onSubmit={(k) => void rotate(rotating, k)} onCancel={() => setRotating(null)} />
          <ErrorText message={error} />
        </Dialog>
      ) : null}
    </>
  );
}

function RotateUpstreamForm(props: { onSubmit(apiKey: string): void; onCancel(): void }) {
  const [key, setKey] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    props.onSubmit(key.trim());
  };
  return (
    <form className="stack" onSubmit={submit}>
      <p>Create the new key at the provider first, paste it here, then revoke the old one there.</p>
      <label htmlFor="upstream-key">New provider API key</label>
      <input
        id="upstream-key"
        type="password"
        autoComplete="off"
        required
        value={key}
        onChange={(e) => setKey(e.target.value)}
      />
      <div className="buttons">
        <button type="submit">Replace key</button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
