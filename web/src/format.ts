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
