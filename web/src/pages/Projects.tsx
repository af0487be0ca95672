import { useCallback, useEffect, useState, type FormEvent } from "react";
import { Link } from "wouter";
import { errorMessage, type Project } from "../api/client";
import { can, useSession } from "../api/context";
import { ErrorText } from "../components/ErrorText";
import { formatDate } from "../format";

/** The projects the signed-in person may see, and a form to add one for those who may. */
export function Projects() {
  const { api, user } = useSession();
  const [projects, setProjects] = useState<Project[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [name, setName] = useState("");
  const load = useCallback(
    () =>
      api.GET("/api/v1/projects", { params: { query: { limit: 100 } } }).then((r) => {
        if (r.data) setProjects(r.data.data);
        else setError(errorMessage(r.error, r.response));
      }),
    [api],
  );
  useEffect(() => {
    void load();
  }, [load]);
  const create = async (event: FormEvent) => {
    event.preventDefault();
    const r = await api.POST("/api/v1/projects", { body: { name } });
    if (!r.data) return setError(errorMessage(r.error, r.response));
    setName("");
    setError(null);
    await load();
  };
  return (
    <>
      <h1>Projects</h1>
      <ErrorText message={error} />
      {can(user, "write-projects") ? (
        <form className="inline" onSubmit={(e) => void create(e)}>
          <label htmlFor="project-name">New project name</label>
          <input id="project-name" required value={name} onChange={(e) => setName(e.target.value)} />
          <button type="submit">Create project</button>
        </form>
      ) : null}
      <table>
        <caption>Projects</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {projects.map((p) => (
            <tr key={p.id}>
              <td>
                <Link href={`/projects/${p.id}`}>{p.name}</Link>
              </td>
              <td>{formatDate(p.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
