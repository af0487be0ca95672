import { randomBytes, randomFillSync } from "node:crypto";

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
  request: "req",
} as const;

const ID_BODY = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** True when `id` looks like an id of the given prefix (cheap syntax check before a lookup). */
export function isId(id: string, prefix: string): boolean {
  return id.startsWith(prefix + "_") && ID_BODY.test(id.slice(prefix.length + 1));
}

/**
 * Mints ids like `newId`, for hot paths: randomness is drawn from a pooled buffer refilled 4 KiB
 * at a time rather than by one `randomBytes` call per id. Time-ordered ids also keep inserts
 * into an indexed id column appending at the end of the index instead of touching a random page.
 */
export class IdMinter {
  private readonly pool = Buffer.alloc(4096);
  private offset = this.pool.length;

  constructor(private readonly prefix: string) {}

  next(nowMs: number): string {
    if (this.offset + 10 > this.pool.length) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    let time = "";
    let t = nowMs;
    for (let i = 0; i < 10; i++) {
      time = CROCKFORD[t % 32] + time;
      t = Math.floor(t / 32);
    }
    // 80 random bits as 16 base32 characters: two 40-bit halves, 8 characters each.
    let tail = "";
    for (let half = 0; half < 2; half++) {
      let v = 0;
      for (let i = 0; i < 5; i++) v = v * 256 + this.pool[this.offset++]!;
      for (let i = 0; i < 8; i++) {
        tail += CROCKFORD[Math.floor(v / 2 ** (35 - 5 * i)) % 32];
      }
    }
    return `${this.prefix}_${time}${tail}`;
  }
}
