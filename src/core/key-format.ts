import { randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";
import { encodeBase62Int, isBase62, randomBase62 } from "./base62.js";

/**
 * Key format (DESIGN.md): `<prefix><body><checksum>`.
 * - body: 32 base62 chars from a CSPRNG = 32·log2(62) ≈ 190 bits (the floor is 160);
 * - checksum: CRC32 of the body, base62, fixed 6 chars (62^6 > 2^32), the GitHub token scheme.
 * The checksum lets scanners and the verify path reject typos and look-alikes offline,
 * before any store lookup.
 */
export const KEY_BODY_LENGTH = 32;
export const KEY_CHECKSUM_LENGTH = 6;

/** Kinds of secret keyward issues. Gateway keys are `live` or `test`; management keys are `admin`. */
export type KeyKind = "live" | "test" | "admin";
export const KEY_KINDS: readonly KeyKind[] = ["live", "test", "admin"];

/** Prefix for a kind under a brand (default brand "kw"): `kw_live_`, `kw_test_`, `kw_admin_`. */
export function keyPrefix(brand: string, kind: KeyKind): string {
  return `${brand}_${kind}_`;
}

/** Checksum of a key body: CRC32, base62, 6 chars. */
export function checksumOf(body: string): string {
  return encodeBase62Int(crc32(body) >>> 0, KEY_CHECKSUM_LENGTH);
}

/** Generates a new secret of the given kind. */
export function generateKey(brand: string, kind: KeyKind): string {
  const body = randomBase62(KEY_BODY_LENGTH, (n) => randomBytes(n));
  return keyPrefix(brand, kind) + body + checksumOf(body);
}

export interface ParsedKey {
  kind: KeyKind;
  body: string;
}

/** Why a string is not a well-formed key; `null` when it is. Pure and offline. */
export type KeyFormatProblem = "prefix" | "length" | "charset" | "checksum";

/**
 * Validates format and checksum, without any I/O.
 * Returns the parsed key, or the problem found. Never throws.
 */
export function parseKey(
  candidate: string,
  brand: string,
): { ok: true; key: ParsedKey } | { ok: false; problem: KeyFormatProblem } {
  const bp = brand + "_";
  if (!candidate.startsWith(bp)) return { ok: false, problem: "prefix" };
  const sep = candidate.indexOf("_", bp.length);
  if (sep < 0) return { ok: false, problem: "prefix" };
  const kind = candidate.slice(bp.length, sep);
  if (kind !== "live" && kind !== "test" && kind !== "admin") return { ok: false, problem: "prefix" };
  const rest = candidate.slice(sep + 1);
  if (rest.length !== KEY_BODY_LENGTH + KEY_CHECKSUM_LENGTH) return { ok: false, problem: "length" };
  if (!isBase62(rest)) return { ok: false, problem: "charset" };
  const body = rest.slice(0, KEY_BODY_LENGTH);
  if (checksumOf(body) !== rest.slice(KEY_BODY_LENGTH)) return { ok: false, problem: "checksum" };
  return { ok: true, key: { kind, body } };
}

/** The masked form shown in listings: `kw_live_…Xk3p` (prefix and the last four characters). */
export function maskKey(key: string): string {
  const lastSep = key.lastIndexOf("_");
  const prefix = lastSep >= 0 ? key.slice(0, lastSep + 1) : "";
  return `${prefix}…${key.slice(-4)}`;
}
