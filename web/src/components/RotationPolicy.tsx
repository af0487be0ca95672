import { useState, type FormEvent } from "react";
import type { Project } from "../api/client";

/** The policy fields of a project as PATCH /projects/{id} takes them. */
export interface PolicyBody {
  rotation_max_age_days: number | null;
  rotation_enforce: boolean;
  stale_after_days: number | null;
  leak_action: "revoke" | "disable";
}

/** "" (off) or whole days; anything else is a mistake the form names before sending. */
export function parseDays(value: string): number | null | "invalid" {
  const v = value.trim();
  if (v === "") return null;
  if (!/^\d+$/.test(v)) return "invalid";
  const n = Number(v);
  return n >= 1 && n <= 3650 ? n : "invalid";
}

/** A project's rotation policy: maximum key age, enforce or warn, stale flag, and leak action. */
export function RotationPolicy(props: {
  project: Project;
  writable: boolean;
  onSave(body: PolicyBody): Promise<void>;
}) {
  const p = props.project;
  const [maxAge, setMaxAge] = useState(p.rotation_max_age_days?.toString() ?? "");
  const [enforce, setEnforce] = useState(p.rotation_enforce);
  const [stale, setStale] = useState(p.stale_after_days?.toString() ?? "");
  const [leak, setLeak] = useState<PolicyBody["leak_action"]>(p.leak_action);
  const [problem, setProblem] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const age = parseDays(maxAge);
    const staleDays = parseDays(stale);
    if (age === "invalid" || staleDays === "invalid")
      return setProblem("Days must be a whole number from 1 to 3650, or empty to switch the rule off.");
    setProblem(null);
    await props.onSave({
      rotation_max_age_days: age,
      rotation_enforce: enforce,
      stale_after_days: staleDays,
      leak_action: leak,
    });
  };
  const off = !props.writable;
  return (
    <form className="stack narrow" onSubmit={(e) => void submit(e)} aria-label="Rotation policy">
      <label htmlFor="policy-max-age">Rotate keys every (days; empty: no maximum age)</label>
      <input
        id="policy-max-age"
        inputMode="numeric"
        disabled={off}
        value={maxAge}
        onChange={(e) => setMaxAge(e.target.value)}
      />
      <label className="choice">
        <input
          type="checkbox"
          disabled={off}
          checked={enforce}
          onChange={(e) => setEnforce(e.target.checked)}
        />{" "}
        Expire keys at their rotation deadline (otherwise only warn)
      </label>
      <label htmlFor="policy-stale">Flag keys unused for (days; empty: never)</label>
      <input
        id="policy-stale"
        inputMode="numeric"
        disabled={off}
        value={stale}
        onChange={(e) => setStale(e.target.value)}
      />
      <label htmlFor="policy-leak">When a key is reported leaked</label>
      <select
        id="policy-leak"
        disabled={off}
        value={leak}
        onChange={(e) => setLeak(e.target.value as PolicyBody["leak_action"])}
      >
        <option value="revoke">Revoke it</option>
        <option value="disable">Disable it</option>
      </select>
      {problem ? (
        <p role="alert" className="error">
          {problem}
        </p>
      ) : null}
      {props.writable ? <button type="submit">Save policy</button> : null}
    </form>
  );
}
