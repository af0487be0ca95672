/**
 * The two buttons of a destructive confirmation: the action (styled as dangerous) and Cancel.
 * Without `onConfirm` the action submits the surrounding form.
 */
export function ConfirmButtons({
  action,
  onConfirm,
  onCancel,
}: {
  action: string;
  onConfirm?: () => void;
  onCancel(): void;
}) {
  return (
    <div className="buttons">
      <button type={onConfirm ? "button" : "submit"} className="danger" onClick={onConfirm}>
        {action}
      </button>
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}
