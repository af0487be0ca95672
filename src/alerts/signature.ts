import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Webhook signatures. Each delivery carries
 *
 *   keyward-webhook-id:        <event id>          (the idempotency id; same on every retry)
 *   keyward-webhook-timestamp: <unix seconds>      (when this attempt was signed)
 *   keyward-signature:         v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
 *
 * Binding the timestamp into the MAC makes an old delivery useless to replay once it is outside
 * the receiver's tolerance; remembering ids inside that window rejects replays within it.
 * `verifyWebhook` is the documented recipe (README "Alerts and webhooks") as code.
 */

export const SIGNATURE_VERSION = "v1";
/** Receivers should reject deliveries signed longer ago than this (seconds). */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** The hex HMAC-SHA256 over `"<timestamp>.<raw body>"` with the webhook's secret. */
export function computeSignature(secret: string, timestamp: number, rawBody: string): string {
  return createHmac("sha256", secret).update(`${timestamp}.${rawBody}`, "utf8").digest("hex");
}

/** The `keyward-signature` header value. */
export function signatureHeader(secret: string, timestamp: number, rawBody: string): string {
  return `${SIGNATURE_VERSION}=${computeSignature(secret, timestamp, rawBody)}`;
}

/** Why a delivery was not accepted. */
export type VerifyProblem = "missing_headers" | "bad_signature" | "stale_timestamp" | "replayed";

/** A received delivery and the receiver's state. */
export interface VerifyInput {
  secret: string;
  /** The three headers, as received. */
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
  /** The body exactly as received (bytes decoded as UTF-8), not re-serialised JSON. */
  rawBody: string;
  /** Receiver's current time (unix seconds). */
  nowSeconds: number;
  toleranceSeconds?: number;
  /**
   * Ids already processed (kept for at least the tolerance window). The receiver adds an id
   * after processing it; this function only reads the set.
   */
  seenIds?: ReadonlySet<string>;
}

/**
 * Verifies a delivery: recompute the MAC, compare in constant time, reject timestamps outside
 * the tolerance (either direction: a clock far ahead is as suspicious), then flag seen ids.
 * `replayed` is not an attack to answer with an error: it is either keyward retrying a delivery
 * whose 2xx got lost, or a copy of one; acknowledge it (2xx) and do not process it again.
 * Accepts several `v1=` values separated by spaces or commas, so a receiver keeps working
 * while signatures from more than one secret are sent.
 */
export function verifyWebhook(input: VerifyInput): { ok: true } | { ok: false; problem: VerifyProblem } {
  const { id, timestamp, signature } = input;
  if (!id || !timestamp || !signature || !/^\d{1,12}$/.test(timestamp))
    return { ok: false, problem: "missing_headers" };
  const expected = Buffer.from(computeSignature(input.secret, Number(timestamp), input.rawBody), "hex");
  const candidates = signature
    .split(/[\s,]+/)
    .filter((s) => s.startsWith(`${SIGNATURE_VERSION}=`))
    .map((s) => Buffer.from(s.slice(SIGNATURE_VERSION.length + 1), "hex"));
  const matches = candidates.some((c) => c.length === expected.length && timingSafeEqual(c, expected));
  if (!matches) return { ok: false, problem: "bad_signature" };
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(input.nowSeconds - Number(timestamp)) > tolerance)
    return { ok: false, problem: "stale_timestamp" };
  if (input.seenIds?.has(id)) return { ok: false, problem: "replayed" };
  return { ok: true };
}
