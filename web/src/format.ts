/** A timestamp for a table cell; "—" when there is none. */
export function formatDate(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return "—";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? "—" : date.toLocaleString();
}

/** How a key's permissions read in a table. */
export function describePermissions(p: { mode: string }): string {
  return p.mode === "all" ? "All" : p.mode === "read_only" ? "Read only" : "Restricted";
}

/** Who created a key, as people read it: "you", their name, or the bare id if it is gone. */
export function describeCreator(
  key: { created_by: string; created_by_name?: string | null },
  me: { id: string; display_name: string } | null,
): string {
  if (me !== null && key.created_by === me.id) return `${me.display_name} (you)`;
  return key.created_by_name ?? key.created_by;
}
