import { useCallback, useEffect, useState, type FormEvent } from "react";
import { errorMessage, type AdminKey, type Role } from "../api/client";
import { useSession } from "../api/context";
import { Dialog } from "../components/Dialog";
import { ErrorText } from "../components/ErrorText";
import { SecretOnce } from "../components/SecretOnce";
import { formatDate } from "../format";
import { grantableRoles } from "../people";
import { ConfirmButtons } from "../components/ConfirmButtons";

type Open = { kind: "create" } | { kind: "revoke"; key: AdminKey } | null;

/** Admin keys (service accounts for the CLI and automation): list, create once, revoke. */
export function AdminKeys() {
  const { api, user } = useSession();
  const [keys, setKeys] = useState<AdminKey[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<Open>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const roles = grantableRoles(user?.role ?? "reader");

  const load = useCallback(
    () =>
      api.GET("/api/v1/admin-keys").then((r) => {
        if (r.data) setKeys(r.data.data);
        else setError(errorMessage(r.error, r.response));
      }),
    [api],
  );
  useEffect(() => {
    void load();
  }, [load]);
  const close = useCallback(() => {
    // The secret goes with the dialog: nothing of it stays in the page's state.
    setSecret(null);
    setOpen(null);
  }, []);

  const create = async (name: string, role: Role) => {
    const r = await api.POST("/api/v1/admin-keys", { body: { name, role } });
    if (!r.data) return setError(errorMessage(r.error, r.response));
    setError(null);
    setSecret(r.data.key);
    await load();
  };
  const revoke = async (key: AdminKey) => {
    const r = await api.POST("/api/v1/admin-keys/{admin_key_id}/revoke", {
      params: { path: { admin_key_id: key.id } },
    });
    if (!r.data) return setError(errorMessage(r.error, r.response));
    setError(null);
    setOpen(null);
    await load();
  };

  return (
    <>
      <h1>Admin keys</h1>
      <p className="hint">Service accounts for the CLI and automation. Each has a role, like a person.</p>
      <ErrorText message={open ? null : error} />
      <div className="toolbar">
        <button type="button" onClick={() => setOpen({ kind: "create" })}>
          Create admin key
        </button>
      </div>
      <table>
        <caption>Admin keys</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Key</th>
            <th scope="col">Role</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col">Status</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {keys.map((k) => (
            <tr key={k.id}>
              <td>{k.name}</td>
              <td className="mono">{k.masked_key}</td>
              <td>{k.role}</td>
              <td>{formatDate(k.created_at)}</td>
              <td>{formatDate(k.last_used_at)}</td>
              <td>{k.status}</td>
              <td>
                {k.status === "active" && roles.includes(k.role) ? (
                  <button
                    type="button"
                    className="danger"
                    aria-label={`Revoke ${k.name}`}
                    onClick={() => setOpen({ kind: "revoke", key: k })}
                  >
                    Revoke
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {open?.kind === "create" ? (
        <Dialog title={secret ? "Save your admin key" : "Create admin key"} onClose={close}>
          {secret ? (
            <SecretOnce kind="admin" secret={secret} onDone={close} />
          ) : (
            <CreateAdminKeyForm roles={roles} onSubmit={(n, r) => void create(n, r)} onCancel={close} />
          )}
          <ErrorText message={error} />
        </Dialog>
      ) : null}
      {open?.kind === "revoke" ? (
        <Dialog title={`Revoke ${open.key.name}?`} onClose={close}>
          <p>
            Anything that uses <strong>{open.key.name}</strong> ({open.key.masked_key}) is refused at once.
            This cannot be undone.
          </p>
          <ConfirmButtons action="Revoke" onConfirm={() => void revoke(open.key)} onCancel={close} />
          <ErrorText message={error} />
        </Dialog>
      ) : null}
    </>
  );
}

function CreateAdminKeyForm(props: {
  roles: Role[];
  onSubmit(name: string, role: Role): void;
  onCancel(): void;
}) {
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("reader");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    props.onSubmit(name, role);
  };
  return (
    <form className="stack" onSubmit={submit}>
      <label htmlFor="admin-key-name">Name</label>
      <input id="admin-key-name" required value={name} onChange={(e) => setName(e.target.value)} />
      <label htmlFor="admin-key-role">Role</label>
      <select id="admin-key-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
        {props.roles.map((r) => (
          <option key={r} value={r}>
            {r}
          </option>
        ))}
      </select>
      <div className="buttons">
        <button type="submit">Create admin key</button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
