/** How a command prints: JSON for scripts (`--json`), aligned text for people. */
export interface Output {
  json: boolean;
  out: (line: string) => void;
}

export function stdoutOutput(json: boolean): Output {
  return { json, out: (line) => process.stdout.write(line + "\n") };
}

/** Prints `value` as JSON, or as the text `render` makes of it. */
export function emit<T>(o: Output, value: T, render: (v: T) => string): void {
  o.out(o.json ? JSON.stringify(value, null, 2) : render(value));
}

/** A plain aligned table; empty string cells print as "-". */
export function table(headers: string[], rows: Array<Array<string | number | null | undefined>>): string {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined || c === "" ? "-" : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(headers), ...cells.map(line)].join("\n");
}

/** `key: value` lines for one record. */
export function fields(record: Record<string, unknown>): string {
  const width = Math.max(...Object.keys(record).map((k) => k.length));
  return Object.entries(record)
    .map(
      ([k, v]) =>
        `${k.padEnd(width)}  ${v === null || v === undefined ? "-" : typeof v === "object" ? JSON.stringify(v) : String(v)}`,
    )
    .join("\n");
}

/** A freshly minted secret, with the note that it is never shown again. */
export function secretBlock(secret: string, label = "Secret"): string {
  return `${label} (shown once, store it now; keyward keeps only its hash):\n\n  ${secret}\n`;
}
