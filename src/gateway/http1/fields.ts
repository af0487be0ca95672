const NONE: ReadonlySet<string> = new Set();
/** The Connection values nearly every request and response carries, parsed once. */
const COMMON_TOKENS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ["keep-alive", new Set(["keep-alive"])],
  ["close", new Set(["close"])],
]);

/** The lower-case tokens of a comma-separated field such as Connection (RFC 9110 §7.6.1). */
export function connectionTokens(value: string | string[] | undefined): ReadonlySet<string> {
  if (!value) return NONE;
  const common = typeof value === "string" ? COMMON_TOKENS.get(value) : undefined;
  if (common) return common;
  const text = Array.isArray(value) ? value.join(",") : value;
  return new Set(
    text
      .split(",")
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
}
