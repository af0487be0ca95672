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

/** RFC 9110 token, for writers checking a whole header name or method (the readers use TOKEN_CHARS). */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/**
 * What a written header value may not carry: controls other than tab (a CR or LF would start a
 * new header) and anything beyond Latin-1, which a head's encoding could not carry faithfully.
 */
export const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** RFC 9110 tchar, by character code. */
const TOKEN_CHARS = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
  TOKEN_CHARS[c.charCodeAt(0)] = 1;
const COLON = 58;

/** Why a field line was refused. */
export type FieldProblem = "bad header line" | "bad header value";

/**
 * Reads the field line `text[at, end)` (`name: value`, no CRLF) and pushes its lower-case name
 * and trimmed value onto `out`. Refused (nothing pushed): a name that is not a token, which
 * also refuses obs-fold and whitespace before the colon (RFC 9112 §5.1–5.2); a value with
 * control characters other than tab (RFC 9110 §5.5), which node:http would not relay either.
 * One pass by character codes: it runs for every field of every request and response.
 */
export function readField(text: string, at: number, end: number, out: string[]): FieldProblem | null {
  let colon = at;
  let lower = true;
  for (; colon < end; colon++) {
    const c = text.charCodeAt(colon);
    if (c === COLON) break;
    if (c > 127 || TOKEN_CHARS[c] !== 1) return "bad header line";
    if (c >= 65 && c <= 90) lower = false;
  }
  if (colon === at || colon === end) return "bad header line";
  let from = colon + 1;
  let to = end;
  while (from < to && isSpace(text.charCodeAt(from))) from++;
  while (to > from && isSpace(text.charCodeAt(to - 1))) to--;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if ((c < 32 && c !== 9) || c === 127) return "bad header value";
  }
  const name = text.slice(at, colon);
  out.push(lower ? name : name.toLowerCase(), text.slice(from, to));
  return null;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9;
}
