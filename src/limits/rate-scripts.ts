/**
 * The Lua scripts behind the shared rate limits (src/limits/redis-rates.ts). Redis runs a script
 * atomically, so every subject of a request is decided and applied in one step: no other
 * replica's request can slip between a check and its increment, and a request refused by one
 * limit consumes nothing of the others.
 *
 * Per subject (key or project) three keys: `…:rq` and `…:tk`, hashes {start, used} for the
 * requests and tokens windows (fixed 60 s windows that open at the first request after the
 * previous one closed, as in decide.ts), and `…:cc`, a sorted set of concurrency slot ids
 * scored by the expiry of their lease.
 *
 * What a process is granted is counted as used at once: requests, tokens and slots granted to
 * every process together never pass a limit. A grant is what the request needs plus spare room
 * for the process's next requests, at most 1/SHARE of what is left (so close to a limit the
 * spare shrinks to nothing and each request is decided on its own).
 */

/** The share of what is left of a limit one grant may add as spare room (1/SHARE). */
export const SPARE_SHARE_DIVISOR = 8;
/** Spare room of one grant, at most: requests (and requests' worth of tokens), and slots. */
export const MAX_SPARE_REQUESTS = 1_000;
export const MAX_SPARE_SLOTS = 100;

/**
 * ADMIT. KEYS: per subject rq, tk, cc. ARGV: now, lease ms, slot id base, then per subject rpm,
 * tpm, max_concurrent (-1: no such limit), the requests, tokens and slots it needs (0: this
 * process still holds enough), and the estimated tokens of one request (the unit of token spare).
 * Returns {failed check index (0: admitted), then per check: kind (1 requests, 2 tokens,
 * 3 concurrency), subject index, allowed (1/0), limit, remaining, reset at, granted}.
 * Slots granted to subject i are named `<base>:<i>:<1..granted>`.
 */
export const ADMIT_SCRIPT = `
local now = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
local base = ARGV[3]
local WINDOW = 60000
local SHARE = ${SPARE_SHARE_DIVISOR}
local n = #KEYS / 3
local out = {0}
local failed = 0
local checks = 0
local writes = {}
local function window(key)
  local v = redis.call('HMGET', key, 'start', 'used')
  local start = tonumber(v[1])
  if start == nil or now >= start + WINDOW then return now, 0 end
  return start, tonumber(v[2]) or 0
end
local function grant(avail, need, unit, cap)
  if need <= 0 then return 0 end
  if unit <= 0 then return need end
  return need + math.max(0, math.min(cap, math.floor((avail - need) / SHARE / unit))) * unit
end
local function check(kind, subject, ok, limit, remaining, reset, granted)
  checks = checks + 1
  if not ok and failed == 0 then failed = checks end
  local a = 0
  if ok then a = 1 end
  for _, x in ipairs({kind, subject, a, limit, math.max(0, remaining), reset, granted}) do out[#out + 1] = x end
end
for i = 0, n - 1 do
  local o = 4 + 7 * i
  local rpm, tpm, maxc = tonumber(ARGV[o]), tonumber(ARGV[o + 1]), tonumber(ARGV[o + 2])
  local nrq, ntk, ncc = tonumber(ARGV[o + 3]), tonumber(ARGV[o + 4]), tonumber(ARGV[o + 5])
  local unit = tonumber(ARGV[o + 6])
  if rpm >= 0 then
    local s, u = window(KEYS[3 * i + 1])
    local avail = rpm - u
    local ok = nrq <= 0 or nrq <= avail
    local g = 0
    if ok then g = grant(avail, nrq, 1, ${MAX_SPARE_REQUESTS}) end
    if g > 0 then writes[#writes + 1] = {'window', KEYS[3 * i + 1], s, u + g} end
    check(1, i, ok, rpm, avail - g, s + WINDOW, g)
  end
  if tpm >= 0 then
    local s, u = window(KEYS[3 * i + 2])
    local avail = tpm - u
    local ok = ntk <= 0 or ntk <= avail
    local g = 0
    if ok then g = grant(avail, ntk, unit, ${MAX_SPARE_REQUESTS}) end
    if g > 0 then writes[#writes + 1] = {'window', KEYS[3 * i + 2], s, u + g} end
    check(2, i, ok, tpm, avail - g, s + WINDOW, g)
  end
  if maxc >= 0 then
    local cc = KEYS[3 * i + 3]
    -- Slots whose lease has run out belong to a holder that stopped renewing (it died).
    redis.call('ZREMRANGEBYSCORE', cc, '-inf', now)
    local avail = maxc - redis.call('ZCARD', cc)
    local ok = ncc <= 0 or ncc <= avail
    local g = 0
    if ok then g = grant(avail, ncc, 1, ${MAX_SPARE_SLOTS}) end
    if g > 0 then writes[#writes + 1] = {'slots', cc, g, i} end
    check(3, i, ok, maxc, avail - g, now + 1000, g)
  end
end
out[1] = failed
if failed == 0 then
  for _, w in ipairs(writes) do
    if w[1] == 'window' then
      redis.call('HSET', w[2], 'start', w[3], 'used', w[4])
      -- Relative to the caller's clock (its now is the one the window is measured in).
      redis.call('PEXPIRE', w[2], w[3] + WINDOW - now + 1000)
    else
      for j = 1, w[3] do redis.call('ZADD', w[2], now + lease, base .. ':' .. w[4] .. ':' .. j) end
      redis.call('PEXPIRE', w[2], lease * 2)
    end
  end
end
return out
`;

/**
 * GIVE BACK (what a process no longer needs, and token counts it owes). KEYS: per subject rq,
 * tk, cc. ARGV: per subject the requests window start and the change to its count, the tokens
 * window start and the change to its count (negative: given back; positive: used beyond what
 * was granted; start -1: nothing), then m and m slot ids to free.
 * A change applies only to the window it was taken in; a closed window is history.
 */
export const GIVE_BACK_SCRIPT = `
local n = #KEYS / 3
local c = 1
local function correct(key, start, delta)
  if start < 0 or delta == 0 then return end
  local v = redis.call('HMGET', key, 'start', 'used')
  if tonumber(v[1]) == start then
    redis.call('HSET', key, 'used', math.max(0, (tonumber(v[2]) or 0) + delta))
  end
end
for i = 0, n - 1 do
  correct(KEYS[3 * i + 1], tonumber(ARGV[c]), tonumber(ARGV[c + 1]))
  correct(KEYS[3 * i + 2], tonumber(ARGV[c + 2]), tonumber(ARGV[c + 3]))
  local m = tonumber(ARGV[c + 4])
  c = c + 5
  for j = 1, m do
    redis.call('ZREM', KEYS[3 * i + 3], ARGV[c])
    c = c + 1
  end
end
return 1
`;
