import type { DestinationConfig, DestinationCredentials } from "./model.js";

/** One secret to write to one destination, opened and ready. */
export interface PushRequest {
  pushId: string;
  config: DestinationConfig;
  credentials: DestinationCredentials;
  secret: string;
  key: { id: string; name: string; project_id: string; masked_key: string };
  reason: "created" | "rotated";
  /** Until when the secret this one replaces still works (rotations with a grace period). */
  oldKeyExpiresAt: string | null;
  timeoutMs: number;
  /** Unix seconds now (webhook signatures). */
  nowSeconds: number;
}

/** How a push went: a failure is data, with a short reason that names no secret. */
export type PushResult = { ok: true } | { ok: false; error: string };

/** Writes a secret to one kind of destination. An interface so each client stays in its file. */
export type SecretWriter = (req: PushRequest) => Promise<PushResult>;

/** One writer per destination kind. */
export type SecretWriters = Record<DestinationConfig["kind"], SecretWriter>;

/** Cuts a third party's error text to one short line. */
export function shortError(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 200 ? `${line.slice(0, 197)}…` : line;
}
