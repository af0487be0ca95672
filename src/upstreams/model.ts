import type { UpstreamsTable } from "../store/schema.js";

/** An upstream as the API returns it: the provider key only as its masked hint, never the key. */
export interface UpstreamView {
  id: string;
  object: "upstream";
  project_id: string;
  name: string;
  base_url: string;
  /** e.g. `sk-…abcd`. */
  masked_api_key: string;
  /** Sent as the `OpenAI-Organization` header. */
  organization: string | null;
  /** Sent as the `OpenAI-Project` header. */
  project: string | null;
  /** Lower wins: the project's upstream is the one with the lowest value. */
  priority: number;
  created_at: string;
  created_by: string;
  updated_at: string;
}

export function toUpstreamView(row: UpstreamsTable): UpstreamView {
  return {
    id: row.id,
    object: "upstream",
    project_id: row.project_id,
    name: row.name,
    base_url: row.base_url,
    masked_api_key: row.key_hint,
    organization: row.organization,
    project: row.openai_project,
    priority: row.priority,
    created_at: new Date(row.created_at).toISOString(),
    created_by: row.created_by,
    updated_at: new Date(row.updated_at).toISOString(),
  };
}

/** What an upstream is created with (validated by the API schema and again by the service). */
export interface CreateUpstreamInput {
  name: string;
  base_url: string;
  api_key: string;
  organization?: string | null;
  project?: string | null;
  priority?: number;
}

export type UpdateUpstreamInput = Partial<CreateUpstreamInput>;

/** The view fields the audit log records: everything but ids and times. No secret is in a view. */
export const AUDITED_FIELDS = [
  "name",
  "base_url",
  "masked_api_key",
  "organization",
  "project",
  "priority",
] as const;

export function auditedSnapshot(v: UpstreamView): Record<string, unknown> {
  return Object.fromEntries(AUDITED_FIELDS.map((f) => [f, v[f]]));
}
