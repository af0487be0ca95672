/** The base62 alphabet used for key bodies and checksums (digits, upper, lower: sorts like ASCII). */
export const BASE62_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

const CHAR_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE62_ALPHABET.length; i++) CHAR_VALUE[BASE62_ALPHABET.charCodeAt(i)] = i;

/** True when every character of `s` is in the base62 alphabet. */
export function isBase62(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || CHAR_VALUE[c] === -1) return false;
  }
  return true;
}

/** Encodes a non-negative integer (< 2^53) as base62, left-padded with "0" to `width`. */
export function encodeBase62Int(value: number, width: number): string {
  let out = "";
  let v = value;
  while (v > 0) {
    out = BASE62_ALPHABET[v % 62] + out;
    v = Math.floor(v / 62);
  }
  return out.padStart(width, "0");
}

/**
 * Maps random bytes to `length` base62 characters without modulo bias: bytes ≥ 248 (= 4·62)
 * are rejected, so every character is uniform over the 62 symbols.
 */
export function randomBase62(length: number, randomBytes: (n: number) => Uint8Array): string {
  let out = "";
  while (out.length < length) {
    const bytes = randomBytes(length * 2);
    for (let i = 0; i < bytes.length && out.length < length; i++) {
      const b = bytes[i]!;
      if (b < 248) out += BASE62_ALPHABET[b % 62];
    }
  }
  return out;
}
