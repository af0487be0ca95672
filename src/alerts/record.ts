import { ID_PREFIX, newId } from "../core/ids.js";
import type { Executor } from "../store/database.js";
import type { AlertEventsTable, WebhookOutboxTable } from "../store/schema.js";
import { matchesFilters, summarize } from "./catalogue.js";
import type { AlertEvent } from "./types.js";

/** Rows per INSERT: at most 11 columns × 400 stays far below both stores' parameter limits. */
const ROWS_PER_INSERT = 400;

/** The JSON body a receiver gets (and the signature covers, byte for byte). */
export interface WebhookPayload {
  id: string;
  type: string;
  created_at: string;
  project_id: string | null;
  subject: string;
  data: Record<string, unknown>;
  /** One-line summary; Slack (and most chat webhooks) display it as the message. */
  text: string;
}

/** Options of `recordAlerts` for test deliveries. */
export interface RecordOptions {
  /** Enqueue for this webhook only, enabled or not (test deliveries), instead of matching. */
  webhookId?: string;
  /** First attempt not before this time: the caller attempts it itself, under this lease. */
  holdUntil?: number;
}

/** Event data as stored JSON; data that cannot be serialised is replaced, never allowed to jam the queue. */
function dataJson(data: Record<string, unknown>): string {
  try {
    return JSON.stringify(data) ?? "{}";
  } catch {
    return JSON.stringify({ unserializable: true });
  }
}

/**
 * Records alert events and enqueues one outbox message per matching webhook, in the caller's
 * transaction (so a worker's cursor can advance in the same commit).
 *
 * Rule: an event with a `dedupeKey` is recorded at most once, ever — enforced by the unique
 * constraint with ON CONFLICT DO NOTHING, so concurrent replicas and restarts cannot both
 * record it; only newly recorded events are enqueued. Webhooks are matched as they are at
 * recording time (enabled, project filter, event filter).
 *
 * Returns the ids of the events recorded by this call.
 */
export async function recordAlerts(
  tx: Executor,
  events: readonly AlertEvent[],
  now: number,
  options: RecordOptions = {},
): Promise<string[]> {
  const onlyWebhookId = options.webhookId;
  // Within a batch the first of each dedupe key wins (the hot path may emit many copies).
  const seen = new Set<string>();
  const rows: AlertEventsTable[] = [];
  for (const e of events) {
    if (e.dedupeKey !== undefined) {
      if (seen.has(e.dedupeKey)) continue;
      seen.add(e.dedupeKey);
    }
    rows.push({
      id: newId(ID_PREFIX.alertEvent, now),
      type: e.type,
      subject: e.subject,
      project_id: e.projectId,
      data: dataJson(e.data),
      dedupe_key: e.dedupeKey ?? null,
      occurred_at: e.at,
      recorded_at: now,
    });
  }
  const recorded = new Set<string>();
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    const inserted = await tx
      .insertInto("alert_events")
      .values(rows.slice(i, i + ROWS_PER_INSERT))
      .onConflict((oc) => oc.column("dedupe_key").doNothing())
      .returning("id")
      .execute();
    for (const r of inserted) recorded.add(r.id);
  }
  if (recorded.size === 0) return [];

  let hooks = tx.selectFrom("webhooks").select(["id", "project_id", "event_types"]);
  hooks = onlyWebhookId ? hooks.where("id", "=", onlyWebhookId) : hooks.where("enabled", "=", 1);
  const webhooks = (await hooks.execute()).map((w) => ({
    ...w,
    filters: JSON.parse(w.event_types) as string[],
  }));
  const messages: WebhookOutboxTable[] = [];
  for (const row of rows) {
    if (!recorded.has(row.id)) continue;
    const targets = webhooks.filter(
      (w) =>
        onlyWebhookId !== undefined ||
        ((w.project_id === null || w.project_id === row.project_id) && matchesFilters(row.type, w.filters)),
    );
    if (targets.length === 0) continue;
    const data = JSON.parse(row.data) as Record<string, unknown>;
    const payload: WebhookPayload = {
      id: row.id,
      type: row.type,
      created_at: new Date(row.occurred_at).toISOString(),
      project_id: row.project_id,
      subject: row.subject,
      data,
      text: summarize(row.type, row.subject, data),
    };
    const body = JSON.stringify(payload);
    for (const w of targets) {
      messages.push({
        id: newId(ID_PREFIX.outbox, now),
        webhook_id: w.id,
        event_id: row.id,
        type: row.type,
        payload: body,
        attempts: 0,
        next_attempt_at: options.holdUntil ?? now,
        status: "pending",
        last_error: null,
        created_at: now,
        delivered_at: null,
      });
    }
  }
  for (let i = 0; i < messages.length; i += ROWS_PER_INSERT) {
    await tx
      .insertInto("webhook_outbox")
      .values(messages.slice(i, i + ROWS_PER_INSERT))
      .onConflict((oc) => oc.columns(["webhook_id", "event_id"]).doNothing())
      .execute();
  }
  return [...recorded];
}
