/**
 * The alert event catalogue: every type a webhook can subscribe to, and the one-line,
 * Slack-compatible `text` each payload carries. Pure.
 */

/** Alerts raised by keyward's own rules (limits, policies, anomalies) and the webhook test. */
export const RULE_EVENT_TYPES = [
  "budget.threshold",
  "budget.exceeded",
  "key.rate_limited",
  "key.expiring",
  "key.rotation_due",
  "key.stale",
  "key.leaked",
  "usage.anomaly",
  "webhook.test",
] as const;

/** Lifecycle events: every audited change of these kinds, forwarded from the audit log. */
export const LIFECYCLE_EVENT_TYPES = [
  "key.created",
  "key.updated",
  "key.disabled",
  "key.enabled",
  "key.revoked",
  "key.rotated",
  "key.deleted",
  "key.rotation_enforced",
  "key.canary_used",
  "key.destination_added",
  "key.destination_removed",
  "key.secret_pushed",
  "key.secret_push_failed",
  "admin_key.created",
  "admin_key.revoked",
  "project.created",
  "project.updated",
  "upstream.created",
  "upstream.updated",
  "upstream.deleted",
  "upstream.master_key_rotated",
  "webhook.created",
  "webhook.updated",
  "webhook.deleted",
  "webhook.master_key_rotated",
] as const;

/** Every event type a webhook filter may name. */
export const EVENT_TYPES: readonly string[] = [...RULE_EVENT_TYPES, ...LIFECYCLE_EVENT_TYPES];

/** Most filter entries a webhook may have. */
export const EVENT_FILTERS_MAX = 50;

/** Audit actions with these prefixes become lifecycle alerts (new actions of a kind included). */
export const LIFECYCLE_PREFIXES = ["key.", "admin_key.", "project.", "upstream.", "webhook."] as const;

/**
 * Whether a webhook filter entry is valid: `*`, a known type, or `<prefix>.*` matching at least
 * one known type. A typo is refused at configuration time rather than silently matching nothing.
 */
export function isValidEventFilter(filter: string): boolean {
  if (filter === "*") return true;
  if (filter.endsWith(".*")) {
    const prefix = filter.slice(0, -1);
    return EVENT_TYPES.some((t) => t.startsWith(prefix));
  }
  return EVENT_TYPES.includes(filter);
}

/** Whether an event type passes a webhook's filter list. */
export function matchesFilters(type: string, filters: readonly string[]): boolean {
  return filters.some(
    (f) => f === "*" || f === type || (f.endsWith(".*") && type.startsWith(f.slice(0, -1))),
  );
}

type Data = Record<string, unknown>;

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const usd = (v: unknown): string => (num(v) === null ? "?" : `$${num(v)!.toFixed(2)}`);

/** "key ci (kw_live_…Xk3p)" when the payload names the key, else its id. */
function keyLabel(subject: string, d: Data): string {
  const name = str(d.key_name);
  const masked = str(d.masked_key);
  if (name && masked) return `key "${name}" (${masked})`;
  if (name) return `key "${name}" (${subject})`;
  return subject.startsWith("proj_") ? `project ${subject}` : `key ${subject}`;
}

/**
 * A one-line human summary, e.g. for Slack's `text`. Never contains a secret: it is built only
 * from the event's data, which never holds one.
 */
export function summarize(type: string, subject: string, data: Data): string {
  const who = keyLabel(subject, data);
  switch (type) {
    case "budget.threshold":
      return `[keyward] ${who} reached ${num(data.threshold_percent) ?? "?"}% of its budget: ${usd(data.spent_usd)} of ${usd(data.limit_usd)}`;
    case "budget.exceeded":
      return `[keyward] ${who} is over budget (${usd(data.spent_usd)} of ${usd(data.limit_usd)}); requests are refused until ${str(data.resets_at) ?? "the budget is raised"}`;
    case "key.rate_limited":
      return `[keyward] ${who} hit its ${str(data.limit) ?? "rate"} limit (${num(data.value) ?? "?"}); resets ${str(data.resets_at) ?? "soon"}`;
    case "key.expiring": {
      const left = num(data.expires_in_days) ?? num(data.days_before);
      return `[keyward] ${who} expires in ${left === 1 ? "1 day" : `${left ?? "?"} days`}, at ${str(data.expires_at) ?? "?"}`;
    }
    case "key.rotation_due":
      return data.enforced === true
        ? `[keyward] ${who} passed its rotation deadline (${str(data.rotate_by) ?? "?"}) and was expired by policy`
        : `[keyward] ${who} is due for rotation (deadline ${str(data.rotate_by) ?? "?"})`;
    case "key.stale":
      return `[keyward] ${who} has not been used for ${num(data.unused_days) ?? "?"} days; revoke it if nobody needs it`;
    case "usage.anomaly": {
      const reasons = Array.isArray(data.reasons) ? data.reasons.join(", ") : "unusual activity";
      return `[keyward] unusual activity on ${who}: ${reasons}`;
    }
    case "key.leaked":
      return `[keyward] ${who} was reported leaked by ${str(data.reported_by) ?? "a scanner"}${str(data.location) ? ` at ${str(data.location)}` : ""} and was ${str(data.action) ?? "revoked"}`;
    case "key.canary_used":
      return `[keyward] canary ${subject} was used from ${str(data.ip) ?? "an unknown address"} (${str(data.user_agent) ?? "no user agent"}): someone has it`;
    case "webhook.test":
      return "[keyward] test delivery: this webhook works";
    case "key.secret_push_failed":
    case "key.secret_pushed": {
      const c = (data.changes ?? {}) as Data;
      const label = keyLabel(subject, c);
      const where = `${str(c.kind) ?? "destination"} ${str(c.destination_id) ?? ""}`.trim();
      if (type === "key.secret_pushed") return `[keyward] the new secret of ${label} was written to ${where}`;
      const next = c.final === true ? "gave up" : `retrying at ${str(c.next_attempt_at) ?? "?"}`;
      const old = str(c.old_key_expires_at);
      return `[keyward] could not write the new secret of ${label} to ${where} (attempt ${num(c.attempt) ?? "?"}: ${str(c.error) ?? "error"}); ${next}${old ? `; the old secret stops working at ${old}` : ""}`;
    }
    default: {
      const actor = str(data.actor_id);
      return `[keyward] ${type} ${subject}${actor ? ` by ${actor}` : ""}`;
    }
  }
}
