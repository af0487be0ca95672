import { useCallback, useEffect, useState } from "react";
import { errorMessage, type Project, type Schemas, type Webhook } from "../api/client";
import { can, useSession } from "../api/context";
import { DeliveryLog } from "../components/DeliveryLog";
import { Dialog } from "../components/Dialog";
import { ErrorText } from "../components/ErrorText";
import { SecretOnce } from "../components/SecretOnce";
import { WebhookForm, type NewWebhook } from "../components/WebhookForm";
import { ConfirmButtons } from "../components/ConfirmButtons";

type Catalogue = Schemas["WebhookEventTypes"];
type Open = { kind: "add" } | { kind: "delete"; hook: Webhook } | null;

/** What a webhook is called on the page: its description, else its (masked) URL. */
const nameOf = (w: Webhook) => w.description ?? w.masked_url;

/** Webhooks (add, test, delivery log, disable, delete) and the budget thresholds that raise alerts. */
export function Alerts() {
  const { api, user } = useSession();
  const writable = can(user, "write-projects");
  const [hooks, setHooks] = useState<Webhook[] | null>(null);
  const [catalogue, setCatalogue] = useState<Catalogue | null>(null);
  const [projects, setProjects] = useState<Project[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState("");
  const [open, setOpen] = useState<Open>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [logOf, setLogOf] = useState<Webhook | null>(null);
  const [logVersion, setLogVersion] = useState(0);

  const load = useCallback(
    () =>
      api.GET("/api/v1/webhooks").then((r) => {
        if (!r.data) return setError(errorMessage(r.error, r.response));
        setHooks(r.data.data);
      }),
    [api],
  );
  useEffect(() => {
    void load();
    void api.GET("/api/v1/webhooks/event-types").then((r) => setCatalogue(r.data ?? null));
    void api
      .GET("/api/v1/projects", { params: { query: { limit: 100 } } })
      .then((r) => setProjects(r.data?.data ?? []));
  }, [api, load]);

  const close = useCallback(() => {
    // The signing secret goes with the dialog.
    setSecret(null);
    setOpen(null);
  }, []);
  const done = async (r: { error?: unknown; response: Response }, message: string) => {
    setBusy(false);
    if (r.error) {
      setError(errorMessage(r.error, r.response));
      return false;
    }
    setError(null);
    setNotice(message);
    await load();
    return true;
  };

  const add = async (body: NewWebhook) => {
    setBusy(true);
    const r = await api.POST("/api/v1/webhooks", { body });
    if (await done(r, "Webhook added.")) setSecret(r.data?.secret ?? null);
  };
  const test = async (hook: Webhook) => {
    setBusy(true);
    setNotice("");
    const r = await api.POST("/api/v1/webhooks/{webhook_id}/test", {
      params: { path: { webhook_id: hook.id } },
    });
    const d = r.data?.delivery;
    const said = r.data?.delivered
      ? `Test event delivered to ${nameOf(hook)} (HTTP ${d?.status_code ?? "?"}).`
      : `Test event to ${nameOf(hook)} was not delivered${d?.error ? `: ${d.error}` : d?.status_code ? `: HTTP ${d.status_code}` : ""}.`;
    await done(r, said);
    setLogOf(hook);
    setLogVersion((v) => v + 1);
  };
  const toggle = async (hook: Webhook) => {
    setBusy(true);
    const r = await api.PATCH("/api/v1/webhooks/{webhook_id}", {
      params: { path: { webhook_id: hook.id } },
      body: { enabled: !hook.enabled },
    });
    await done(r, `${nameOf(hook)} ${hook.enabled ? "disabled" : "enabled"}.`);
  };
  const remove = async (hook: Webhook) => {
    setBusy(true);
    const r = await api.DELETE("/api/v1/webhooks/{webhook_id}", {
      params: { path: { webhook_id: hook.id } },
    });
    if (await done(r, `${nameOf(hook)} deleted.`)) {
      setOpen(null);
      if (logOf?.id === hook.id) setLogOf(null);
    }
  };
  const projectName = (id: string | null) =>
    id === null ? "All projects" : (projects.find((p) => p.id === id)?.name ?? id);

  return (
    <>
      <h1>Alerts</h1>
      <ErrorText message={open ? null : error} />
      <p role="status">{notice}</p>
      <section aria-labelledby="webhooks-heading">
        <h2 id="webhooks-heading">Webhooks</h2>
        <p className="hint">
          keyward POSTs each alert as signed JSON (headers keyward-webhook-id, keyward-webhook-timestamp,
          keyward-signature), retrying with backoff until the receiver answers 2xx.
        </p>
        {writable ? (
          <button type="button" onClick={() => setOpen({ kind: "add" })}>
            Add webhook
          </button>
        ) : null}
        {hooks && hooks.length === 0 ? <p>No webhooks yet: alerts are kept, but go nowhere.</p> : null}
        {hooks?.length ? (
          <table>
            <caption>Webhooks</caption>
            <thead>
              <tr>
                <th scope="col">Webhook</th>
                <th scope="col">URL</th>
                <th scope="col">Events</th>
                <th scope="col">Project</th>
                <th scope="col">Status</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {hooks.map((w) => (
                <tr key={w.id}>
                  <td>{nameOf(w)}</td>
                  <td className="mono">{w.masked_url}</td>
                  <td className="mono">{w.event_types.join(", ")}</td>
                  <td>{projectName(w.project_id)}</td>
                  <td>{w.enabled ? "enabled" : "disabled"}</td>
                  <td className="actions">
                    <button
                      type="button"
                      aria-label={`Delivery log of ${nameOf(w)}`}
                      onClick={() => setLogOf(w)}
                    >
                      Delivery log
                    </button>
                    {writable ? (
                      <>
                        <button
                          type="button"
                          disabled={busy}
                          aria-label={`Send test event to ${nameOf(w)}`}
                          onClick={() => void test(w)}
                        >
                          Send test event
                        </button>
                        <button
                          type="button"
                          disabled={busy}
                          aria-label={`${w.enabled ? "Disable" : "Enable"} ${nameOf(w)}`}
                          onClick={() => void toggle(w)}
                        >
                          {w.enabled ? "Disable" : "Enable"}
                        </button>
                        <button
                          type="button"
                          className="danger"
                          aria-label={`Delete ${nameOf(w)}`}
                          onClick={() => setOpen({ kind: "delete", hook: w })}
                        >
                          Delete
                        </button>
                      </>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </section>
      {logOf ? <DeliveryLog webhookId={logOf.id} name={nameOf(logOf)} version={logVersion} /> : null}
      <section aria-labelledby="thresholds-heading">
        <h2 id="thresholds-heading">Budget thresholds</h2>
        <p>
          A key or project with a budget raises a <span className="mono">budget.threshold</span> alert when
          its spend crosses{" "}
          {catalogue ? catalogue.budget_thresholds_percent.map((p) => `${p}%`).join(", ") : "50%, 80%, 100%"}{" "}
          of the budget, once per budget period, and <span className="mono">budget.exceeded</span> when a
          request is refused for budget. These thresholds are fixed; set a budget on a key (Create key) or a
          project to get them.
        </p>
      </section>
      {open?.kind === "add" ? (
        <Dialog title={secret ? "Save your signing secret" : "Add webhook"} onClose={close}>
          {secret ? (
            <SecretOnce kind="signing" secret={secret} onDone={close} />
          ) : (
            <WebhookForm
              events={catalogue?.data ?? []}
              projects={projects}
              busy={busy}
              onSubmit={(b) => void add(b)}
              onCancel={close}
            />
          )}
          <ErrorText message={error} />
        </Dialog>
      ) : null}
      {open?.kind === "delete" ? (
        <Dialog title={`Delete ${nameOf(open.hook)}?`} onClose={close}>
          <p>
            Alerts stop going to <span className="mono">{open.hook.masked_url}</span>; undelivered messages
            and the delivery log are deleted with it.
          </p>
          <ConfirmButtons action="Delete" onConfirm={() => void remove(open.hook)} onCancel={close} />
          <ErrorText message={error} />
        </Dialog>
      ) : null}
    </>
  );
}
