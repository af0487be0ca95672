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
 */

/**
 * ADMIT. KEYS: per subject rq, tk, cc. ARGV: now, lease ms, slot id, estimated tokens, then per
 * subject rpm, tpm, max_concurrent (-1: no such limit).
 * Returns {failed check index (0: admitted), then per check: kind (1 requests, 2 tokens,
 * 3 concurrency), subject index, allowed (1/0), limit, remaining, reset at}.
 */
export const ADMIT_SCRIPT = `
local now = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
local slot = ARGV[3]
local cost = tonumber(ARGV[4])
local WINDOW = 60000
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
local function check(kind, subject, allowed, limit, remaining, reset)
  checks = checks + 1
  if not allowed and failed == 0 then failed = checks end
  local a = 0
  if allowed then a = 1 end
  for _, x in ipairs({kind, subject, a, limit, math.max(0, remaining), reset}) do out[#out + 1] = x end
end
for i = 0, n - 1 do
  local rpm = tonumber(ARGV[5 + 3 * i])
  local tpm = tonumber(ARGV[6 + 3 * i])
  local maxc = tonumber(ARGV[7 + 3 * i])
  if rpm >= 0 then
    local s, u = window(KEYS[3 * i + 1])
    local ok = u + 1 <= rpm
    check(1, i, ok, rpm, ok and (rpm - u - 1) or (rpm - u), s + WINDOW)
    writes[#writes + 1] = {KEYS[3 * i + 1], s, u + 1}
  end
  if tpm >= 0 then
    local s, u = window(KEYS[3 * i + 2])
    local ok = u + cost <= tpm
    check(2, i, ok, tpm, ok and (tpm - u - cost) or (tpm - u), s + WINDOW)
    writes[#writes + 1] = {KEYS[3 * i + 2], s, u + cost}
  end
  if maxc >= 0 then
    local cc = KEYS[3 * i + 3]
    -- Slots whose lease has run out belong to a holder that stopped renewing (it died).
    redis.call('ZREMRANGEBYSCORE', cc, '-inf', now)
    local held = redis.call('ZCARD', cc)
    local ok = held + 1 <= maxc
    check(3, i, ok, maxc, ok and (maxc - held - 1) or (maxc - held), now + 1000)
    writes[#writes + 1] = {cc}
  end
end
out[1] = failed
if failed == 0 then
  for _, w in ipairs(writes) do
    if #w == 3 then
      redis.call('HSET', w[1], 'start', w[2], 'used', w[3])
      -- Relative to the caller's clock (its now is the one the window is measured in).
      redis.call('PEXPIRE', w[1], w[2] + WINDOW - now + 1000)
    else
      redis.call('ZADD', w[1], now + lease, slot)
      redis.call('PEXPIRE', w[1], lease * 2)
    end
  end
end
return out
`;

/**
 * FINISH (settle, release or refund). KEYS: per subject rq, tk, cc. ARGV: slot id, estimated
 * tokens, actual tokens, refund the request (1/0), then per subject the start of the requests
 * and tokens windows the request was counted in (-1: not counted).
 * Corrections apply only to the window they were taken from; a closed window is history.
 */
export const FINISH_SCRIPT = `
local slot = ARGV[1]
local estimated = tonumber(ARGV[2])
local actual = tonumber(ARGV[3])
local refund = tonumber(ARGV[4])
local n = #KEYS / 3
local function correct(key, start, delta)
  if start < 0 then return end
  local v = redis.call('HMGET', key, 'start', 'used')
  if tonumber(v[1]) == start then
    redis.call('HSET', key, 'used', math.max(0, (tonumber(v[2]) or 0) + delta))
  end
end
for i = 0, n - 1 do
  if refund == 1 then correct(KEYS[3 * i + 1], tonumber(ARGV[5 + 2 * i]), -1) end
  correct(KEYS[3 * i + 2], tonumber(ARGV[6 + 2 * i]), actual - estimated)
  redis.call('ZREM', KEYS[3 * i + 3], slot)
end
return 1
`;
