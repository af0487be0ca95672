/**
 * One CSV cell (RFC 4180). Objects are written as JSON; anything that could split a cell is
 * quoted; text a spreadsheet would run as a formula (=, +, -, @ first) is prefixed with ',
 * since names and user agents are user input.
 */
export function csvCell(value: unknown): string {
  // A number is never a formula, nor can it split a cell: the usage export is mostly numbers.
  if (typeof value === "number") return String(value);
  const s =
    value === null || value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value);
  const safe = /^[=+\-@\t\r]/.test(s) ? "'" + s : s;
  return /[",\n\r']/.test(safe) || safe !== s ? `"${safe.replace(/"/g, '""')}"` : safe;
}
