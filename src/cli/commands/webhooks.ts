import type { Command } from "commander";
import type { DeliveryView } from "../../alerts/delivery-view.js";
import type { UpdateWebhookInput, WebhookView } from "../../alerts/webhook-model.js";
import { emit, fields, stdoutOutput, table } from "../output.js";
import { fetchPages, moreHint } from "../paging.js";
import { parseList, parsePositiveInt, usage } from "../parse.js";
import { remoteClient, remoteFlags, type RemoteFlags } from "../remote.js";

/** `--url` is the server's (remoteFlags); the webhook's own URL is `add <url>` / `update --endpoint`. */
interface SettingsFlags extends RemoteFlags {
  endpoint?: string;
  project?: string;
  events?: string;
  description?: string;
}

/** A webhook (URL and secret masked) as `key: value` lines. */
function showWebhook(w: WebhookView): string {
  return fields({
    id: w.id,
    url: w.masked_url,
    project: w.project_id ?? "all projects",
    events: w.event_types.join(", "),
    enabled: w.enabled,
    description: w.description,
    secret: w.masked_secret,
    created_at: w.created_at,
    created_by: w.created_by,
    updated_at: w.updated_at,
  });
}

function showDelivery(d: DeliveryView): string {
  return fields({
    id: d.id,
    event: `${d.event_id} (${d.type})`,
    attempt: d.attempt,
    outcome: d.outcome,
    status: d.status_code,
    duration_ms: d.duration_ms,
    error: d.error,
    next_retry_at: d.next_retry_at,
    attempted_at: d.attempted_at,
  });
}

/** The body add and update send. `clearable`: `--project none` / `--description none` clear. */
function settingsBody(flags: SettingsFlags, clearable: boolean): UpdateWebhookInput {
  const clear = (v: string) => (clearable && v.trim().toLowerCase() === "none" ? null : v);
  const body: UpdateWebhookInput = {};
  if (flags.endpoint !== undefined) body.url = flags.endpoint;
  if (flags.project !== undefined) body.project_id = clear(flags.project);
  if (flags.events !== undefined) body.event_types = parseList(flags.events, "--events");
  if (flags.description !== undefined) body.description = clear(flags.description);
  return body;
}

/** `keyward webhooks …`: where alerts are delivered, signed. */
export function registerWebhooks(program: Command): void {
  const webhooks = program
    .command("webhooks")
    .description("signed alert webhooks: budgets, expiring/stale keys, anomalies, key lifecycle");

  remoteFlags(
    webhooks
      .command("add <endpoint>")
      .description("add a webhook posting to <endpoint> (http or https); its signing secret is printed once")
      .option("--project <id>", "only this project's events (default: every event)")
      .option("--events <list>", "event types, comma-separated: *, key.*, budget.threshold, … (default *)")
      .option("--description <text>", "what it is for, e.g. #keyward-alerts on Slack")
      .option("--disabled", "create it switched off"),
  ).action(async (endpoint: string, flags: SettingsFlags & { disabled?: boolean }) => {
    const body = settingsBody(flags, false);
    const w = await remoteClient(flags).createWebhook({
      ...body,
      url: endpoint,
      ...(flags.disabled ? { enabled: false } : {}),
    });
    emit(
      stdoutOutput(Boolean(flags.json)),
      w,
      (v) =>
        `added webhook ${v.id}\n\nSigning secret (shown once, store it now; verify deliveries with it):\n\n  ${v.secret}\n\n${showWebhook(v)}`,
    );
  });

  remoteFlags(
    webhooks
      .command("list")
      .description("list webhooks (URLs and secrets masked)")
      .option("--project <id>", "only webhooks filtered to this project"),
  ).action(async (flags: RemoteFlags & { project?: string }) => {
    const r = await remoteClient(flags).listWebhooks(flags.project ? { project_id: flags.project } : {});
    emit(stdoutOutput(Boolean(flags.json)), r, (v) =>
      v.data.length === 0
        ? "no webhooks"
        : table(
            ["ID", "URL", "PROJECT", "EVENTS", "ENABLED"],
            v.data.map((w) => [
              w.id,
              w.masked_url,
              w.project_id ?? "all",
              w.event_types.join(","),
              String(w.enabled),
            ]),
          ),
    );
  });

  remoteFlags(webhooks.command("show <id>").description("show one webhook")).action(
    async (id: string, flags: RemoteFlags) => {
      emit(stdoutOutput(Boolean(flags.json)), await remoteClient(flags).getWebhook(id), showWebhook);
    },
  );

  remoteFlags(
    webhooks
      .command("update <id>")
      .description("change a webhook's URL, project filter, events, description, or switch it on/off")
      .option("--endpoint <url>", "new URL alerts are POSTed to")
      .option("--project <id>", "only this project's events, or `none` for every event")
      .option("--events <list>", "event types, comma-separated")
      .option("--description <text>", "new description, or `none`")
      .option("--enable", "switch it on")
      .option("--disable", "switch it off (messages wait until it is on again)"),
  ).action(async (id: string, flags: SettingsFlags & { enable?: boolean; disable?: boolean }) => {
    if (flags.enable && flags.disable) throw usage("give --enable or --disable, not both");
    const body = settingsBody(flags, true);
    if (flags.enable) body.enabled = true;
    if (flags.disable) body.enabled = false;
    if (Object.keys(body).length === 0)
      throw usage(
        "nothing to update: give --endpoint, --project, --events, --description, --enable or --disable",
      );
    const w = await remoteClient(flags).updateWebhook(id, body);
    emit(stdoutOutput(Boolean(flags.json)), w, (v) => `updated webhook ${v.id}\n\n${showWebhook(v)}`);
  });

  remoteFlags(
    webhooks.command("remove <id>").description("delete a webhook and its pending messages"),
  ).action(async (id: string, flags: RemoteFlags) => {
    await remoteClient(flags).deleteWebhook(id);
    emit(
      stdoutOutput(Boolean(flags.json)),
      { id, object: "webhook", deleted: true },
      (v) => `removed webhook ${v.id}`,
    );
  });

  remoteFlags(
    webhooks
      .command("test <id>")
      .description("send a signed webhook.test event now; exit 0 only when delivered"),
  ).action(async (id: string, flags: RemoteFlags) => {
    const r = await remoteClient(flags).testWebhook(id);
    emit(stdoutOutput(Boolean(flags.json)), r, (v) => {
      const d = v.delivery;
      if (!d) return `not attempted (event ${v.event_id})`;
      return v.delivered
        ? `delivered ${v.event_id}: HTTP ${d.status_code} in ${d.duration_ms} ms`
        : `not delivered ${v.event_id}: ${d.error ?? "failed"}${d.next_retry_at ? ` (retrying at ${d.next_retry_at})` : ""}`;
    });
    if (!r.delivered) process.exitCode = 1;
  });

  remoteFlags(
    webhooks
      .command("deliveries <id>")
      .description("the delivery log, newest first: attempt, status, duration, error, next retry")
      .option("--limit <n>", "attempts per page (1-100, default 20)")
      .option("--after <cursor>", "continue after this delivery id (the previous page's next_cursor)")
      .option("--all", "follow the cursor and list every attempt")
      .option("--verbose", "one block per attempt instead of a table"),
  ).action(
    async (
      id: string,
      flags: RemoteFlags & { limit?: string; after?: string; all?: boolean; verbose?: boolean },
    ) => {
      const client = remoteClient(flags);
      const limit =
        flags.limit !== undefined ? parsePositiveInt(flags.limit, "--limit") : flags.all ? 100 : undefined;
      const page = await fetchPages(
        (after) => client.listDeliveries(id, { ...(limit ? { limit } : {}), ...(after ? { after } : {}) }),
        { all: Boolean(flags.all), after: flags.after },
      );
      emit(stdoutOutput(Boolean(flags.json)), page, (v) => {
        if (v.data.length === 0) return "no delivery attempts yet";
        const body = flags.verbose
          ? v.data.map(showDelivery).join("\n\n")
          : table(
              ["ATTEMPTED", "EVENT", "TYPE", "#", "OUTCOME", "STATUS", "MS", "ERROR", "NEXT RETRY"],
              v.data.map((d) => [
                d.attempted_at,
                d.event_id,
                d.type,
                d.attempt,
                d.outcome,
                d.status_code,
                d.duration_ms,
                d.error,
                d.next_retry_at,
              ]),
            );
        return body + moreHint(v);
      });
    },
  );
}
