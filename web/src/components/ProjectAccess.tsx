import { useId } from "react";
import type { Project } from "../api/client";

/**
 * Which projects a member or reader may see: every project (null) or only those checked.
 * A radio choice, not "none checked means all", so unchecking the last box never widens access.
 */
export function ProjectAccess({
  projects,
  value,
  onChange,
}: {
  projects: Project[];
  value: string[] | null;
  onChange(value: string[] | null): void;
}) {
  const name = useId();
  const toggle = (id: string, on: boolean) => {
    const current = value ?? [];
    onChange(on ? [...current, id] : current.filter((p) => p !== id));
  };
  return (
    <fieldset>
      <legend>Project access</legend>
      <label className="choice">
        <input type="radio" name={name} checked={value === null} onChange={() => onChange(null)} /> Every
        project
      </label>
      <label className="choice">
        <input type="radio" name={name} checked={value !== null} onChange={() => onChange(value ?? [])} />{" "}
        Only the projects checked
      </label>
      {value !== null ? (
        <ul className="checks">
          {projects.map((p) => (
            <li key={p.id}>
              <label className="choice">
                <input
                  type="checkbox"
                  checked={value.includes(p.id)}
                  onChange={(e) => toggle(p.id, e.target.checked)}
                />{" "}
                {p.name}
              </label>
            </li>
          ))}
        </ul>
      ) : null}
    </fieldset>
  );
}
