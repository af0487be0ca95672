/**
 * The management API's error catalogue: one code → one HTTP status. Handlers throw
 * `KeywardError` with a code; the API's single error handler renders the envelope
 * `{"error":{"code","message","request_id"}}` and never leaks anything else.
 */
export const ERROR_STATUS = {
  invalid_json: 400,
  invalid_request: 400,
  invalid_id: 400,
  weak_password: 400,
  unauthorized: 401,
  invalid_credentials: 401,
  csrf_rejected: 403,
  invitation_not_found: 404,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  idempotency_in_progress: 409,
  invitation_used: 410,
  invitation_expired: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  idempotency_key_reused: 422,
  rate_limited: 429,
  too_many_attempts: 429,
  internal_error: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** One field-level problem, for validation errors. */
export interface ErrorDetail {
  path: string;
  message: string;
}

/** The only exception type management code throws on purpose. Its message is client-safe. */
export class KeywardError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
  ) {
    super(message);
    this.name = "KeywardError";
    this.status = ERROR_STATUS[code];
  }
}

/** Shorthands that read well at the call site. */
export const notFound = (what: string): KeywardError => new KeywardError("not_found", `${what} not found`);
export const forbidden = (why: string): KeywardError => new KeywardError("forbidden", why);
export const conflict = (why: string): KeywardError => new KeywardError("conflict", why);
