import { useState, type FormEvent } from "react";
import type { Project, Role } from "../api/client";
import { grantableRoles, mayBeLimited } from "../people";
import { ProjectAccess } from "./ProjectAccess";

/** What an invitation asks for: an email, a role the inviter may grant, and project access. */
export function InviteForm(props: {
  granter: Role;
  projects: Project[];
  onSubmit(body: { email: string; role: Role; projects?: string[] }): Promise<void>;
  onCancel(): void;
}) {
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("member");
  const [access, setAccess] = useState<string[] | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    const limited = mayBeLimited(role) && access !== null;
    await props.onSubmit({ email, role, ...(limited ? { projects: access } : {}) });
    setBusy(false);
  };
  return (
    <form className="stack" onSubmit={(e) => void submit(e)}>
      <label htmlFor="invite-email">Email</label>
      <input
        id="invite-email"
        type="email"
        required
        value={email}
        onChange={(e) => setEmail(e.target.value)}
      />
      <label htmlFor="invite-role">Role</label>
      <select id="invite-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
        {grantableRoles(props.granter).map((r) => (
          <option key={r} value={r}>
            {r}
          </option>
        ))}
      </select>
      {mayBeLimited(role) ? (
        <ProjectAccess projects={props.projects} value={access} onChange={setAccess} />
      ) : (
        <p className="hint">Owners and admins see every project.</p>
      )}
      <div className="buttons">
        <button type="submit" disabled={busy}>
          Send invitation
        </button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
