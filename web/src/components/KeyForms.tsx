import { useState } from "react";
import { ConfirmButtons } from "./ConfirmButtons";

const GRACE = [
  [0, "None: the old key stops now"],
  [3_600, "1 hour"],
  [86_400, "24 hours"],
  [604_800, "7 days"],
] as const;

/** Rotate: the grace period in which the old secret keeps working. */
export function RotateForm({ onRotate, onCancel }: { onRotate(grace: number): void; onCancel(): void }) {
  const [grace, setGrace] = useState(86_400);
  return (
    <form className="stack" onSubmit={(e) => (e.preventDefault(), onRotate(grace))}>
      <label htmlFor="grace">Grace period (the old key keeps working)</label>
      <select id="grace" value={grace} onChange={(e) => setGrace(Number(e.target.value))}>
        {GRACE.map(([s, label]) => (
          <option key={s} value={s}>
            {label}
          </option>
        ))}
      </select>
      <div className="buttons">
        <button type="submit">Rotate</button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** Revoke: names the key, says it cannot be undone, asks a reason for the audit log. */
export function RevokeForm({
  keyName,
  onRevoke,
  onCancel,
}: {
  keyName: string;
  onRevoke(reason: string): void;
  onCancel(): void;
}) {
  const [reason, setReason] = useState("");
  return (
    <form className="stack" onSubmit={(e) => (e.preventDefault(), onRevoke(reason))}>
      <p>
        Requests with <strong>{keyName}</strong> are refused at once, on every replica. This cannot be undone.
      </p>
      <label htmlFor="revoke-reason">Reason (for the audit log)</label>
      <input id="revoke-reason" value={reason} onChange={(e) => setReason(e.target.value)} />
      <ConfirmButtons action="Revoke" onCancel={onCancel} />
    </form>
  );
}

/** Regenerate: a rotation with no grace, so the confirmation says the old secret stops at once. */
export function RegenerateForm({
  keyName,
  onRegenerate,
  onCancel,
}: {
  keyName: string;
  onRegenerate(): void;
  onCancel(): void;
}) {
  return (
    <form className="stack" onSubmit={(e) => (e.preventDefault(), onRegenerate())}>
      <p>
        A new secret replaces the one of <strong>{keyName}</strong>. The old secret stops working at once:
        every app using it fails until it has the new one.
      </p>
      <ConfirmButtons action="Regenerate" onCancel={onCancel} />
    </form>
  );
}
