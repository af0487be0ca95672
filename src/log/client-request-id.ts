import { defaultDetectors } from "../scan/detectors.js";
import { Matcher } from "../scan/matcher.js";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Builds, once, the check for a client's own `x-request-id`: a short, plain token is kept (for
 * tracing in logs); anything else — including a key pasted into the wrong header, found by the
 * leak scanner's detectors — is not, so it never reaches a log line or a response.
 */
export function clientRequestIdReader(
  brand: string,
): (value: string | string[] | undefined) => string | null {
  const secrets = new Matcher(defaultDetectors([brand]));
  return (value) =>
    typeof value === "string" && REQUEST_ID.test(value) && !secrets.has(value) ? value : null;
}
