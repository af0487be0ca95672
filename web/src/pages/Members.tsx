import { useCallback, useEffect, useState } from "react";
import { errorMessage, type Invitation, type Project, type User } from "../api/client";
import { useSession } from "../api/context";
import { CopyField } from "../components/CopyField";
import { Dialog } from "../components/Dialog";
import { ErrorText } from "../components/ErrorText";
import { InviteForm } from "../components/InviteForm";
import { UserForm } from "../components/UserForm";
import { formatDate } from "../format";
import { describeProjects, mayChange } from "../people";

type Open =
  | { kind: "invite"; link?: string }
  | { kind: "edit"; user: User }
  | { kind: "reset"; user: User; link: string }
  | null;

/** People: who has access with which role and projects, invitations, and every change to them. */
export function Members() {
  const { api, user: me } = useSession();
  const [people, setPeople] = useState<User[]>([]);
  const [invitations, setInvitations] = useState<Invitation[]>([]);
  const [projects, setProjects] = useState<Project[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<Open>(null);

  const load = useCallback(
    () =>
      Promise.all([
        api.GET("/api/v1/users"),
        api.GET("/api/v1/users/invitations"),
        api.GET("/api/v1/projects", { params: { query: { limit: 100 } } }),
      ]).then(([u, i, p]) => {
        if (!u.data) return setError(errorMessage(u.error, u.response));
        setPeople(u.data.data);
        setInvitations(i.data?.data ?? []);
        setProjects(p.data?.data ?? []);
      }),
    [api],
  );
  useEffect(() => {
    void load();
  }, [load]);
  const close = useCallback(() => setOpen(null), []);

  const done = async (r: { error?: unknown; response: Response }) => {
    if (r.error !== undefined) {
      setError(errorMessage(r.error, r.response));
      return false;
    }
    setError(null);
    await load();
    return true;
  };
  const patch = async (
    u: User,
    body: { role?: User["role"]; projects?: string[] | null; disabled?: boolean },
  ) => done(await api.PATCH("/api/v1/users/{id}", { params: { path: { id: u.id } }, body }));
  const resetLink = async (u: User) => {
    const r = await api.POST("/api/v1/users/{id}/reset-link", { params: { path: { id: u.id } } });
    if (await done(r)) setOpen({ kind: "reset", user: u, link: r.data!.reset_url });
  };
  const revoke = async (i: Invitation) =>
    done(await api.DELETE("/api/v1/users/invitations/{id}", { params: { path: { id: i.id } } }));

  return (
    <>
      <h1>Members</h1>
      <ErrorText message={open ? null : error} />
      <div className="toolbar">
        <button type="button" onClick={() => setOpen({ kind: "invite" })}>
          Invite
        </button>
      </div>
      <table>
        <caption>People</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Email</th>
            <th scope="col">Role</th>
            <th scope="col">Projects</th>
            <th scope="col">Status</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {people.map((u) => (
            <tr key={u.id}>
              <td>{u.display_name}</td>
              <td>{u.email}</td>
              <td>{u.role}</td>
              <td>{describeProjects(u.projects, projects)}</td>
              <td>{u.disabled_at === null ? "active" : "disabled"}</td>
              <td>
                {mayChange(me, u) ? (
                  <div className="actions">
                    <button
                      type="button"
                      aria-label={`Edit ${u.email}`}
                      onClick={() => setOpen({ kind: "edit", user: u })}
                    >
                      Edit
                    </button>
                    <button
                      type="button"
                      aria-label={`${u.disabled_at === null ? "Disable" : "Enable"} ${u.email}`}
                      className={u.disabled_at === null ? "danger" : ""}
                      onClick={() => void patch(u, { disabled: u.disabled_at === null })}
                    >
                      {u.disabled_at === null ? "Disable" : "Enable"}
                    </button>
                    <button
                      type="button"
                      aria-label={`Reset link for ${u.email}`}
                      onClick={() => void resetLink(u)}
                    >
                      Reset link
                    </button>
                  </div>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <table>
        <caption>Pending invitations</caption>
        <thead>
          <tr>
            <th scope="col">Email</th>
            <th scope="col">Kind</th>
            <th scope="col">Role</th>
            <th scope="col">Projects</th>
            <th scope="col">Expires</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {invitations.map((i) => (
            <tr key={i.id}>
              <td>{i.email ?? "—"}</td>
              <td>{i.kind}</td>
              <td>{i.role}</td>
              <td>{describeProjects(i.projects, projects)}</td>
              <td>{formatDate(i.expires_at)}</td>
              <td>
                <button
                  type="button"
                  className="danger"
                  aria-label={`Revoke invitation for ${i.email ?? i.id}`}
                  onClick={() => void revoke(i)}
                >
                  Revoke
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {invitations.length === 0 ? <p className="hint">No pending invitations.</p> : null}
      {open?.kind === "invite" ? (
        <Dialog title={open.link ? "Invitation created" : "Invite a person"} onClose={close}>
          {open.link ? (
            <>
              <p>Send this link to the person. It works once and expires; it is not shown again.</p>
              <CopyField label="Invitation link" value={open.link} />
              <button type="button" onClick={close}>
                Done
              </button>
            </>
          ) : (
            <InviteForm
              granter={me?.role ?? "reader"}
              projects={projects}
              onCancel={close}
              onSubmit={async (body) => {
                const r = await api.POST("/api/v1/users/invitations", { body });
                if (await done(r)) setOpen({ kind: "invite", link: r.data!.invite_url });
              }}
            />
          )}
          <ErrorText message={error} />
        </Dialog>
      ) : null}
      {open?.kind === "edit" ? (
        <Dialog title={`Edit ${open.user.email}`} onClose={close}>
          <UserForm
            user={open.user}
            granter={me?.role ?? "reader"}
            projects={projects}
            onCancel={close}
            onSubmit={async (body) => {
              if (await patch(open.user, body)) close();
            }}
          />
          <ErrorText message={error} />
        </Dialog>
      ) : null}
      {open?.kind === "reset" ? (
        <Dialog title={`Reset link for ${open.user.email}`} onClose={close}>
          <p>With this link the person chooses a new password. It works once and expires.</p>
          <CopyField label="Reset link" value={open.link} />
          <button type="button" onClick={close}>
            Done
          </button>
        </Dialog>
      ) : null}
    </>
  );
}
