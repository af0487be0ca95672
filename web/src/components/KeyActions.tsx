import { useCallback, useState } from "react";
import { errorMessage, type Key } from "../api/client";
import { useSession } from "../api/context";
import { Dialog } from "./Dialog";
import { ErrorText } from "./ErrorText";
import { RegenerateForm, RevokeForm, RotateForm } from "./KeyForms";
import { SecretOnce } from "./SecretOnce";

type Open = "rotate" | "regenerate" | "revoke" | null;

/**
 * Rotate, Regenerate, Disable / Enable and Revoke for one key. Only rendered for people who may
 * manage the key (the API checks the same); a new secret lives in this component's state while
 * its dialog is open and is dropped when the dialog closes.
 */
export function KeyActions({ apiKey, onChanged }: { apiKey: Key; onChanged(key: Key): void }) {
  const { api } = useSession();
  const [open, setOpen] = useState<Open>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const close = useCallback(() => {
    setSecret(null);
    setError(null);
    setOpen(null);
  }, []);
  const path = { params: { path: { key_id: apiKey.id } } };

  const rotate = async (grace: number) => {
    setBusy(true);
    const r = await api.POST("/api/v1/keys/{key_id}/rotate", { ...path, body: { grace_seconds: grace } });
    setBusy(false);
    if (!r.data) return setError(errorMessage(r.error, r.response));
    const { key, old_key_expires_at: _expires, pushes: _pushes, ...view } = r.data;
    setError(null);
    setSecret(key);
    onChanged(view);
  };
  const toggle = async () => {
    setBusy(true);
    const r =
      apiKey.status === "disabled"
        ? await api.POST("/api/v1/keys/{key_id}/enable", path)
        : await api.POST("/api/v1/keys/{key_id}/disable", path);
    setBusy(false);
    if (!r.data) return setError(errorMessage(r.error, r.response));
    setError(null);
    onChanged(r.data);
  };
  const revoke = async (reason: string) => {
    setBusy(true);
    const r = await api.POST("/api/v1/keys/{key_id}/revoke", { ...path, body: reason ? { reason } : {} });
    setBusy(false);
    if (!r.data) return setError(errorMessage(r.error, r.response));
    close();
    onChanged(r.data);
  };

  if (apiKey.status !== "active" && apiKey.status !== "disabled") return null;
  return (
    <>
      <div className="toolbar">
        <button type="button" disabled={busy} onClick={() => setOpen("rotate")}>
          Rotate
        </button>
        <button type="button" disabled={busy} onClick={() => setOpen("regenerate")}>
          Regenerate
        </button>
        <button type="button" disabled={busy} onClick={() => void toggle()}>
          {apiKey.status === "disabled" ? "Enable" : "Disable"}
        </button>
        <button type="button" className="danger" disabled={busy} onClick={() => setOpen("revoke")}>
          Revoke
        </button>
      </div>
      <ErrorText message={open ? null : error} />
      {open === "rotate" || open === "regenerate" ? (
        <Dialog
          title={
            secret ? "Save your new key" : `${open === "rotate" ? "Rotate" : "Regenerate"} ${apiKey.name}`
          }
          onClose={close}
        >
          {secret ? (
            <SecretOnce secret={secret} onDone={close} />
          ) : open === "rotate" ? (
            <RotateForm onRotate={(g) => void rotate(g)} onCancel={close} />
          ) : (
            <RegenerateForm keyName={apiKey.name} onRegenerate={() => void rotate(0)} onCancel={close} />
          )}
          <ErrorText message={error} />
        </Dialog>
      ) : null}
      {open === "revoke" ? (
        <Dialog title={`Revoke ${apiKey.name}?`} onClose={close}>
          <RevokeForm keyName={apiKey.name} onRevoke={(reason) => void revoke(reason)} onCancel={close} />
          <ErrorText message={error} />
        </Dialog>
      ) : null}
    </>
  );
}
