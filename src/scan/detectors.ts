import { KEY_BODY_LENGTH, KEY_CHECKSUM_LENGTH, maskKey, parseKey, type KeyKind } from "../core/key-format.js";

/** How bad a leak of this kind of secret is; drives the SARIF level and the text output. */
export type Severity = "critical" | "high" | "medium" | "low";

/**
 * One kind of secret the scanner recognises.
 *
 * `pattern` is a regex source without flags that matches the whole secret and ends with its own
 * right boundary (a negative lookahead). The left boundary is not in the pattern: a leading
 * lookbehind stops V8 from using the literal prefix to skip ahead (measured: about 2× slower),
 * so the scanner checks the preceding character against `boundaryBefore` itself.
 */
export interface Detector {
  /** Stable id, used in output, SARIF rule ids and `--export-rules`. */
  id: string;
  description: string;
  severity: Severity;
  pattern: string;
  /** Longest text `pattern` can match; the chunk overlap is derived from it. */
  maxLength: number;
  /** True when `ch` (the character before a match) means the match is inside a longer token. */
  boundaryBefore: (ch: string) => boolean;
  /** Extra validation after the regex matched (e.g. the keyward checksum); omitted = accept. */
  validate?: (secret: string) => boolean;
  /** The form that may be printed: never the whole secret. */
  mask: (secret: string) => string;
  /** What to do when one leaks (printed by `--revoke` and the hook). */
  remediation: string;
  /** Set for keyward's own keys: the kind, so `--revoke` can act on them. */
  keywardKind?: KeyKind;
}

const WORD = /[0-9A-Za-z_]/;
const WORD_OR_DASH = /[0-9A-Za-z_-]/;
const isWord = (ch: string) => WORD.test(ch);
const isWordOrDash = (ch: string) => WORD_OR_DASH.test(ch);

/** The right boundary for tokens made of word characters. */
const END_WORD = "(?![0-9A-Za-z_])";
/** The right boundary for tokens that may contain `-` (OpenAI, Anthropic, Slack, Google). */
const END_DASH = "(?![0-9A-Za-z_-])";

/** Masks a provider secret to its fixed, non-secret prefix (as matched by `prefix`) and last four. */
function maskWith(prefix: RegExp): (secret: string) => string {
  return (secret) => `${prefix.exec(secret)?.[0] ?? ""}…${secret.slice(-4)}`;
}

const KEYWARD_SEVERITY: Record<KeyKind, Severity> = { admin: "critical", live: "high", test: "medium" };
const KEYWARD_REMEDIATION: Record<KeyKind, string> = {
  live: "revoke it (`keyward scan --revoke` or `keyward keys revoke <id>`), create or rotate a replacement and update the apps that used it",
  test: "revoke it (`keyward scan --revoke` or `keyward keys revoke <id>`), create or rotate a replacement and update the apps that used it",
  admin:
    "revoke it (`keyward scan --revoke` or `keyward admin-keys revoke <id>`) and hand out a new admin key to whoever used it",
};

/**
 * Detectors for keyward's own keys, one per kind, covering every configured brand.
 * The regex only finds candidates; a candidate is reported only when its CRC32 checksum is
 * right, so random look-alikes (and typos) are not findings.
 */
export function keywardDetectors(brands: readonly string[]): Detector[] {
  if (brands.length === 0) throw new Error("keywardDetectors: at least one brand");
  // The config's brand rule; it also means brands need no escaping inside the regex.
  for (const b of brands)
    if (!/^[a-z][a-z0-9]{0,15}$/.test(b)) throw new Error(`keywardDetectors: bad brand "${b}"`);
  const brandGroup = `(?:${brands.join("|")})`;
  const longestBrand = Math.max(...brands.map((b) => b.length));
  const tail = KEY_BODY_LENGTH + KEY_CHECKSUM_LENGTH;
  return (["live", "test", "admin"] as const).map((kind): Detector => ({
    id: `keyward-${kind}-key`,
    description: `keyward ${kind} key (${brands.map((b) => `${b}_${kind}_`).join(", ")}), checksum verified`,
    severity: KEYWARD_SEVERITY[kind],
    pattern: `${brandGroup}_${kind}_[0-9A-Za-z]{${tail}}${END_WORD}`,
    maxLength: longestBrand + kind.length + 2 + tail,
    boundaryBefore: isWord,
    validate: (secret) => {
      const brand = secret.slice(0, secret.indexOf("_"));
      const parsed = parseKey(secret, brand);
      return parsed.ok && parsed.key.kind === kind;
    },
    mask: maskKey,
    remediation: KEYWARD_REMEDIATION[kind],
    keywardKind: kind,
  }));
}

/**
 * Upstream provider keys: the ones a keyward deployment exists to protect (OpenAI), plus the
 * few other high-value tokens with a distinctive prefix that commonly sit next to them in the
 * same `.env` files. Patterns follow the providers' documented formats; where the body length
 * varies the bounds are generous but finite, so the chunk overlap stays small.
 */
export const PROVIDER_DETECTORS: readonly Detector[] = [
  {
    id: "openai-admin-key",
    description: "OpenAI admin key (sk-admin-…)",
    severity: "critical",
    pattern: `sk-admin-[A-Za-z0-9_-]{20,200}T3BlbkFJ[A-Za-z0-9_-]{20,200}${END_DASH}`,
    maxLength: 9 + 200 + 8 + 200,
    boundaryBefore: isWordOrDash,
    mask: maskWith(/^sk-admin-/),
    remediation:
      "delete it at https://platform.openai.com/settings/organization/admin-keys and create a new one",
  },
  {
    // Every OpenAI secret key carries "T3BlbkFJ" (base64 of "OpenAI") between two random runs:
    // legacy sk-…, sk-proj-…, sk-svcacct-…, sk-None-…. Without the marker it is not reported.
    id: "openai-api-key",
    description: "OpenAI API key (sk-…, sk-proj-…, sk-svcacct-…) with the T3BlbkFJ marker",
    severity: "high",
    pattern: `sk-(?!admin-)[A-Za-z0-9_-]{20,200}T3BlbkFJ[A-Za-z0-9_-]{20,200}${END_DASH}`,
    maxLength: 3 + 200 + 8 + 200,
    boundaryBefore: isWordOrDash,
    mask: maskWith(/^sk-(?:proj-|svcacct-|None-)?/),
    remediation:
      "rotate it at the provider (https://platform.openai.com/api-keys) and store the new one in keyward as an upstream credential",
  },
  {
    id: "anthropic-admin-key",
    description: "Anthropic admin key (sk-ant-admin01-…)",
    severity: "critical",
    pattern: `sk-ant-admin01-[A-Za-z0-9_-]{93}AA${END_DASH}`,
    maxLength: 15 + 93 + 2,
    boundaryBefore: isWordOrDash,
    mask: maskWith(/^sk-ant-admin01-/),
    remediation: "delete it in the Anthropic console (Settings → Admin keys) and create a new one",
  },
  {
    id: "anthropic-api-key",
    description: "Anthropic API key (sk-ant-api03-…)",
    severity: "high",
    pattern: `sk-ant-api03-[A-Za-z0-9_-]{93}AA${END_DASH}`,
    maxLength: 13 + 93 + 2,
    boundaryBefore: isWordOrDash,
    mask: maskWith(/^sk-ant-api03-/),
    remediation: "delete it in the Anthropic console (Settings → API keys) and create a new one",
  },
  {
    id: "github-token",
    description: "GitHub token (ghp_, gho_, ghu_, ghs_, ghr_)",
    severity: "high",
    pattern: `gh[pousr]_[A-Za-z0-9]{36}${END_WORD}`,
    maxLength: 4 + 36,
    boundaryBefore: isWord,
    mask: maskWith(/^gh[pousr]_/),
    remediation: "revoke it at https://github.com/settings/tokens (or the owning app) and issue a new one",
  },
  {
    id: "github-fine-grained-pat",
    description: "GitHub fine-grained personal access token (github_pat_…)",
    severity: "high",
    pattern: `github_pat_[A-Za-z0-9_]{82}${END_WORD}`,
    maxLength: 11 + 82,
    boundaryBefore: isWord,
    mask: maskWith(/^github_pat_/),
    remediation: "revoke it at https://github.com/settings/personal-access-tokens and issue a new one",
  },
  {
    id: "gitlab-pat",
    description: "GitLab personal access token (glpat-…)",
    severity: "high",
    pattern: `glpat-[A-Za-z0-9_-]{20}${END_DASH}`,
    maxLength: 6 + 20,
    boundaryBefore: isWordOrDash,
    mask: maskWith(/^glpat-/),
    remediation: "revoke it in GitLab (User settings → Access tokens) and issue a new one",
  },
  {
    // The id alone is not the secret, but it is nearly always committed next to its secret key.
    id: "aws-access-key-id",
    description: "AWS access key id (AKIA…, ASIA…)",
    severity: "high",
    pattern: `(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}${END_WORD}`,
    maxLength: 20,
    boundaryBefore: isWord,
    // AWS's documentation example (AKIAIOSFODNN7EXAMPLE and friends) is not a leak.
    validate: (secret) => !secret.endsWith("EXAMPLE"),
    mask: maskWith(/^(?:AKIA|ASIA|ABIA|ACCA)/),
    remediation:
      "deactivate and delete the access key in IAM, create a new one, and check CloudTrail for its use",
  },
  {
    id: "stripe-secret-key",
    description: "Stripe live secret or restricted key (sk_live_…, rk_live_…)",
    severity: "critical",
    pattern: `[sr]k_live_[A-Za-z0-9]{24,99}${END_WORD}`,
    maxLength: 8 + 99,
    boundaryBefore: isWord,
    mask: maskWith(/^[sr]k_live_/),
    remediation: "roll it at https://dashboard.stripe.com/apikeys",
  },
  {
    id: "slack-token",
    description: "Slack bot or user token (xoxb-…, xoxp-…)",
    severity: "high",
    pattern: `xox[bp]-[0-9]{10,13}-[0-9]{10,13}(?:-[0-9]{10,13})?-[A-Za-z0-9]{24,34}${END_DASH}`,
    maxLength: 5 + 13 + 1 + 13 + 1 + 13 + 1 + 34,
    boundaryBefore: isWordOrDash,
    mask: maskWith(/^xox[bp]-/),
    remediation: "revoke it in the Slack app's settings (OAuth & Permissions) and reinstall the app",
  },
];

/** The detectors a scan runs: keyward keys for `brands`, then the provider keys. */
export function defaultDetectors(brands: readonly string[]): Detector[] {
  return [...keywardDetectors(brands), ...PROVIDER_DETECTORS];
}
