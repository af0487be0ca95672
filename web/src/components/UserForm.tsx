import { useState, type FormEvent } from "react";
import type { Project, Role, User } from "../api/client";
import { grantableRoles, mayBeLimited } from "../people";
import { ProjectAccess } from "./ProjectAccess";

/** A person's role and project access, changed together in one PATCH. */
export function UserForm(props: {
  user: User;
  granter: Role;
  projects: Project[];
  onSubmit(body: { role: Role; projects: string[] | null }): Promise<void>;
  onCancel(): void;
}) {
  const [role, setRole] = useState<Role>(props.user.role);
  const [access, setAccess] = useState<string[] | null>(props.user.projects);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void props.onSubmit({ role, projects: mayBeLimited(role) ? access : null });
  };
  return (
    <form className="stack" onSubmit={submit}>
      <label htmlFor="user-role">Role</label>
      <select id="user-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
        {grantableRoles(props.granter).map((r) => (
          <option key={r} value={r}>
            {r}
          </option>
        ))}
      </select>
      {mayBeLimited(role) ? (
        <ProjectAccess projects={props.projects} value={access} onChange={setAccess} />
      ) : null}
      <div className="buttons">
        <button type="submit">Save</button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
