import { normalizeIp } from "./cidr.js";

/**
 * The client's IP: the socket peer, or the first X-Forwarded-For hop when keyward runs behind a
 * trusted proxy (KEYWARD_TRUST_PROXY). Never trust the header otherwise: anyone can send it.
 */
export function clientIp(
  remote: string | undefined,
  forwardedFor: string | undefined,
  trustProxy: boolean,
): string | null {
  if (trustProxy && forwardedFor) {
    const first = forwardedFor.split(",")[0]?.trim();
    if (first) return normalizeIp(first);
  }
  return remote ? normalizeIp(remote) : null;
}
