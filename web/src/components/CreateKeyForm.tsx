import { useState, type FormEvent } from "react";
import type { CreateKey, Permissions } from "../api/client";

type Resource = keyof Extract<Permissions, { mode: "restricted" }>["resources"];
/**
 * Every resource a restricted key can be scoped to. Typed against the API's generated schema:
 * a resource the server adds fails to compile here until it is listed (src/core/permissions.ts).
 */
const RESOURCE_SET: Record<Resource, true> = {
  models: true,
  chat_completions: true,
  completions: true,
  responses: true,
  embeddings: true,
  images: true,
  audio: true,
  files: true,
  fine_tuning: true,
  batches: true,
  moderations: true,
  assistants: true,
  vector_stores: true,
};
const RESOURCES = Object.keys(RESOURCE_SET) as Resource[];
type Access = "none" | "read" | "write";

function list(value: string): string[] | null {
  const items = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return items.length ? items : null;
}

function number(value: string): number | undefined {
  return value.trim() === "" ? undefined : Number(value);
}

/** The fields of a new key, turned into the API's CreateKey body. */
export function CreateKeyForm({ onSubmit, busy }: { onSubmit(body: CreateKey): void; busy: boolean }) {
  const [name, setName] = useState("");
  const [environment, setEnvironment] = useState<"live" | "test">("live");
  const [mode, setMode] = useState<Permissions["mode"]>("all");
  const [access, setAccess] = useState<Partial<Record<Resource, Access>>>({
    chat_completions: "write",
    models: "read",
  });
  const [models, setModels] = useState("");
  const [ips, setIps] = useState("");
  const [expiresDays, setExpiresDays] = useState("");
  const [rpm, setRpm] = useState("");
  const [tpm, setTpm] = useState("");
  const [budget, setBudget] = useState("");
  const [period, setPeriod] = useState<"day" | "week" | "month" | "lifetime">("month");

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const permissions: Permissions = mode === "restricted" ? { mode, resources: access } : { mode };
    const limits = {
      ...(number(rpm) !== undefined ? { rpm: number(rpm) } : {}),
      ...(number(tpm) !== undefined ? { tpm: number(tpm) } : {}),
      ...(number(budget) !== undefined ? { budget: { usd: number(budget)!, period, timezone: "UTC" } } : {}),
    };
    const days = number(expiresDays);
    onSubmit({
      name,
      environment,
      permissions,
      allowed_models: list(models),
      allowed_ips: list(ips),
      ...(days !== undefined ? { ttl_seconds: Math.round(days * 86_400) } : {}),
      ...(Object.keys(limits).length ? { limits } : {}),
    });
  };

  return (
    <form onSubmit={submit} className="stack">
      <label htmlFor="key-name">Name</label>
      <input id="key-name" required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} />
      <label htmlFor="key-env">Environment</label>
      <select
        id="key-env"
        value={environment}
        onChange={(e) => setEnvironment(e.target.value as "live" | "test")}
      >
        <option value="live">Live</option>
        <option value="test">Test</option>
      </select>
      <fieldset>
        <legend>Permissions</legend>
        {(
          [
            ["all", "All"],
            ["restricted", "Restricted"],
            ["read_only", "Read only"],
          ] as const
        ).map(([value, label]) => (
          <label key={value} className="choice">
            <input
              type="radio"
              name="mode"
              value={value}
              checked={mode === value}
              onChange={() => setMode(value)}
            />
            {label}
          </label>
        ))}
      </fieldset>
      {mode === "restricted" ? (
        <table className="compact">
          <caption>Access per resource</caption>
          <thead>
            <tr>
              <th scope="col">Resource</th>
              <th scope="col">Access</th>
            </tr>
          </thead>
          <tbody>
            {RESOURCES.map((r) => (
              <tr key={r}>
                <th scope="row">
                  <label htmlFor={`access-${r}`}>{r}</label>
                </th>
                <td>
                  <select
                    id={`access-${r}`}
                    value={access[r] ?? "none"}
                    onChange={(e) => setAccess({ ...access, [r]: e.target.value as Access })}
                  >
                    <option value="none">None</option>
                    <option value="read">Read</option>
                    <option value="write">Write</option>
                  </select>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <label htmlFor="key-models">Allowed models (comma-separated, * wildcards; empty = all)</label>
      <input id="key-models" value={models} onChange={(e) => setModels(e.target.value)} />
      <label htmlFor="key-ips">Allowed IPs or CIDRs (comma-separated; empty = any)</label>
      <input id="key-ips" value={ips} onChange={(e) => setIps(e.target.value)} />
      <label htmlFor="key-expiry">Expires after (days; empty = never)</label>
      <input
        id="key-expiry"
        type="number"
        min="0.01"
        step="any"
        value={expiresDays}
        onChange={(e) => setExpiresDays(e.target.value)}
      />
      <label htmlFor="key-rpm">Requests per minute</label>
      <input
        id="key-rpm"
        type="number"
        min="1"
        step="1"
        value={rpm}
        onChange={(e) => setRpm(e.target.value)}
      />
      <label htmlFor="key-tpm">Tokens per minute</label>
      <input
        id="key-tpm"
        type="number"
        min="1"
        step="1"
        value={tpm}
        onChange={(e) => setTpm(e.target.value)}
      />
      <label htmlFor="key-budget">Budget (USD)</label>
      <input
        id="key-budget"
        type="number"
        min="0"
        step="any"
        value={budget}
        onChange={(e) => setBudget(e.target.value)}
      />
      <label htmlFor="key-period">Budget period</label>
      <select id="key-period" value={period} onChange={(e) => setPeriod(e.target.value as typeof period)}>
        <option value="day">Day</option>
        <option value="week">Week</option>
        <option value="month">Month</option>
        <option value="lifetime">Lifetime</option>
      </select>
      <button type="submit" disabled={busy}>
        Create key
      </button>
    </form>
  );
}
