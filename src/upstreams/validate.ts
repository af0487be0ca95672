/**
 * Pure checks for upstream settings, shared by the API schema (for field-level 400s) and the
 * service (so no caller can store a bad value). Each returns an error message or null.
 */

/** Provider API keys and header values go into HTTP headers: visible ASCII only, no spaces. */
const HEADER_TOKEN = /^[\x21-\x7e]+$/;

export const API_KEY_MAX = 4096;
export const HEADER_VALUE_MAX = 256;
export const BASE_URL_MAX = 2048;
export const PRIORITY_MAX = 1_000_000;

/** A problem with a provider API key, or null. The message never contains the key. */
export function apiKeyProblem(key: string): string | null {
  if (key.length === 0) return "must not be empty";
  if (key.length > API_KEY_MAX) return `must be at most ${API_KEY_MAX} characters`;
  if (!HEADER_TOKEN.test(key)) return "must be visible ASCII characters without spaces";
  return null;
}

/** A problem with an OpenAI-Organization / OpenAI-Project value, or null. */
export function headerValueProblem(value: string): string | null {
  if (value.length === 0 || value.length > HEADER_VALUE_MAX)
    return `must be 1–${HEADER_VALUE_MAX} characters`;
  if (!HEADER_TOKEN.test(value)) return "must be visible ASCII characters without spaces";
  return null;
}

/** The normalized base URL, or the reason it is refused. */
export type BaseUrlResult = { ok: true; url: string } | { ok: false; problem: string };

/**
 * Validates and normalizes an upstream base URL: absolute http(s), no credentials (the key has
 * its own, encrypted field; a URL is shown and logged in clear), no query or fragment (paths are
 * appended to it), trailing slashes trimmed.
 */
export function normalizeBaseUrl(input: string): BaseUrlResult {
  if (input.length > BASE_URL_MAX)
    return { ok: false, problem: `must be at most ${BASE_URL_MAX} characters` };
  if (!HEADER_TOKEN.test(input))
    return { ok: false, problem: "must not contain spaces or control characters" };
  let u: URL;
  try {
    u = new URL(input);
  } catch {
    return { ok: false, problem: "must be an absolute URL, e.g. https://api.openai.com/v1" };
  }
  if (u.protocol !== "http:" && u.protocol !== "https:")
    return { ok: false, problem: "must be an http or https URL" };
  if (!u.hostname) return { ok: false, problem: "must name a host" };
  if (u.username || u.password || /^[a-z]+:\/\/[^/]*@/i.test(input))
    return { ok: false, problem: "must not contain credentials; give the provider key as api_key" };
  // Checked on the raw text too: `https://host/v1?` parses with an empty search.
  if (u.search || input.includes("?")) return { ok: false, problem: "must not contain a query string" };
  if (u.hash || input.includes("#")) return { ok: false, problem: "must not contain a fragment" };
  return { ok: true, url: u.href.replace(/\/+$/, "") };
}

/**
 * The masked form of a provider key for display and audit: its short vendor prefix and last
 * four characters (`sk-…abcd`). Short keys show fewer characters, down to none, so the hint
 * never gives away a meaningful part of the key.
 */
export function maskProviderKey(key: string): string {
  const prefix = /^[A-Za-z]{1,4}-/.exec(key)?.[0] ?? "";
  const rest = key.length - prefix.length;
  const tail = rest >= 20 ? 4 : rest >= 12 ? 2 : 0;
  return `${prefix}…${tail ? key.slice(-tail) : ""}`;
}
