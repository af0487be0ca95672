import { randomBytes } from "node:crypto";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/**
 * A prefixed, time-ordered id (`key_01J…`): 10 chars of millisecond time plus 16 random
 * chars (80 bits), Crockford base32, so ids sort by creation and make stable cursors.
 */
export function newId(prefix: string, nowMs: number): string {
  let time = "";
  let t = nowMs;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const rnd = randomBytes(10);
  let bits = 0;
  let acc = 0;
  let tail = "";
  for (const byte of rnd) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      tail += CROCKFORD[(acc >> bits) & 31];
    }
  }
  return `${prefix}_${time}${tail}`;
}

/** Id prefixes by entity, so an id says what it names. */
export const ID_PREFIX = {
  project: "proj",
  key: "key",
  admin: "adm",
  audit: "aud",
  upstream: "ups",
  webhook: "whk",
  alertEvent: "evt",
  outbox: "msg",
  delivery: "dlv",
} as const;

const ID_BODY = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** True when `id` looks like an id of the given prefix (cheap syntax check before a lookup). */
export function isId(id: string, prefix: string): boolean {
  return id.startsWith(prefix + "_") && ID_BODY.test(id.slice(prefix.length + 1));
}
