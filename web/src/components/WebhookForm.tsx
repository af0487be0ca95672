import { useState, type FormEvent } from "react";
import type { Project, Schemas } from "../api/client";

type EventType = Schemas["WebhookEventTypes"]["data"][number];
export type NewWebhook = Schemas["CreateWebhook"];

/** URL, description, optional project and the events (from the API's catalogue) of a new webhook. */
export function WebhookForm({
  events,
  projects,
  busy,
  onSubmit,
  onCancel,
}: {
  events: EventType[];
  projects: Project[];
  busy: boolean;
  onSubmit(body: NewWebhook): void;
  onCancel(): void;
}) {
  const [url, setUrl] = useState("");
  const [description, setDescription] = useState("");
  const [projectId, setProjectId] = useState("");
  const [all, setAll] = useState(true);
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [problem, setProblem] = useState<string | null>(null);
  const toggle = (type: string) => {
    const next = new Set(chosen);
    if (next.has(type)) next.delete(type);
    else next.add(type);
    setChosen(next);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!all && chosen.size === 0) return setProblem("Choose at least one event, or All events.");
    setProblem(null);
    onSubmit({
      url: url.trim(),
      ...(description.trim() ? { description: description.trim() } : {}),
      ...(projectId ? { project_id: projectId } : {}),
      event_types: all ? ["*"] : [...chosen],
    });
  };
  const group = (kind: EventType["kind"], legend: string) => (
    <fieldset>
      <legend>{legend}</legend>
      <div className="events">
        {events
          .filter((e) => e.kind === kind)
          .map((e) => (
            <label key={e.type} className="choice mono">
              <input type="checkbox" checked={chosen.has(e.type)} onChange={() => toggle(e.type)} />
              {e.type}
            </label>
          ))}
      </div>
    </fieldset>
  );
  return (
    <form className="stack" onSubmit={submit}>
      <label htmlFor="webhook-url">Endpoint URL</label>
      <input
        id="webhook-url"
        type="url"
        required
        placeholder="https://hooks.example.com/keyward"
        value={url}
        onChange={(e) => setUrl(e.target.value)}
      />
      <label htmlFor="webhook-description">Description</label>
      <input
        id="webhook-description"
        maxLength={500}
        value={description}
        onChange={(e) => setDescription(e.target.value)}
      />
      <label htmlFor="webhook-project">Project</label>
      <select id="webhook-project" value={projectId} onChange={(e) => setProjectId(e.target.value)}>
        <option value="">All projects</option>
        {projects.map((p) => (
          <option key={p.id} value={p.id}>
            {p.name}
          </option>
        ))}
      </select>
      <label className="choice">
        <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} />
        All events
      </label>
      {all ? null : (
        <>
          {group("rule", "Alerts")}
          {group("lifecycle", "Changes (from the audit log)")}
        </>
      )}
      {problem ? (
        <p role="alert" className="error">
          {problem}
        </p>
      ) : null}
      <div className="buttons">
        <button type="submit" disabled={busy}>
          Add webhook
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
