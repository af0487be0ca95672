import { randomBytes } from "node:crypto";
import { randomBase62 } from "../../src/core/base62.js";
import { checksumOf, generateKey, KEY_BODY_LENGTH, type KeyKind } from "../../src/core/key-format.js";

/**
 * Secret-shaped test data, generated at run time: no key-shaped literal is ever written into
 * the repository (it would trip this very scanner, push protection and other people's CI).
 */

const alnum = (n: number) => randomBase62(n, (k) => randomBytes(k));
const urlsafe = (n: number) =>
  randomBytes(n * 2)
    .toString("base64url")
    .replace(/[^A-Za-z0-9_-]/g, "")
    .slice(0, n);

/** A valid keyward key (checksum right). */
export function fakeKeywardKey(kind: KeyKind = "live", brand = "kw"): string {
  return generateKey(brand, kind);
}

/** A keyward-shaped string whose checksum is wrong: must never be reported. */
export function lookAlikeKey(kind: KeyKind = "live", brand = "kw"): string {
  const body = alnum(KEY_BODY_LENGTH);
  const good = checksumOf(body);
  // Change one checksum character to another base62 character.
  const i = good.length - 1;
  const bad = good.slice(0, i) + (good[i] === "0" ? "1" : "0");
  return `${brand}_${kind}_${body}${bad}`;
}

/** Provider-shaped keys (random bodies, the documented shapes). */
export const fakeProviderKey = {
  openaiLegacy: () => `sk-${alnum(20)}T3BlbkFJ${alnum(20)}`,
  openaiProject: () => `sk-proj-${urlsafe(74)}T3BlbkFJ${urlsafe(74)}`,
  openaiService: () => `sk-svcacct-${urlsafe(58)}T3BlbkFJ${urlsafe(58)}`,
  openaiAdmin: () => `sk-admin-${urlsafe(58)}T3BlbkFJ${urlsafe(58)}`,
  /** Right shape, but no T3BlbkFJ marker: not an OpenAI key. */
  openaiNoMarker: () => `sk-proj-${alnum(156)}`,
  anthropic: () => `sk-ant-api03-${urlsafe(93)}AA`,
  anthropicAdmin: () => `sk-ant-admin01-${urlsafe(93)}AA`,
  github: () => `ghp_${alnum(36)}`,
  githubFineGrained: () => `github_pat_${alnum(22)}_${alnum(59)}`,
  gitlab: () => `glpat-${alnum(20)}`,
  aws: () => "AKIA" + Array.from(randomBytes(16), (b) => "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[b % 32]).join(""),
  stripe: () => `sk_live_${alnum(48)}`,
  slack: () => `xoxb-${digits(12)}-${digits(13)}-${alnum(24)}`,
};

function digits(n: number): string {
  return Array.from(randomBytes(n), (b) => String(b % 10)).join("");
}
