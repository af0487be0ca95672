import { createRemoteJWKSet, type JWTVerifyGetKey } from "jose";
import { KeywardError } from "../core/errors.js";

/** Where an issuer's signing keys come from (tests may serve their own issuer). */
export interface IssuerKeys {
  keysFor(issuer: string): Promise<JWTVerifyGetKey>;
}

/** https, or http on loopback only (a local test issuer): key material must not travel in clear. */
function trustedUrl(text: string, what: string): URL {
  const url = new URL(text);
  const loopback = url.hostname === "127.0.0.1" || url.hostname === "localhost" || url.hostname === "[::1]";
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback))
    throw new KeywardError("unauthorized", `${what} must be https: ${url.origin}`);
  return url;
}

/**
 * Issuer keys by OpenID discovery (`<issuer>/.well-known/openid-configuration` → `jwks_uri`),
 * each issuer's JWKS through jose's remote key set: cached, refetched when a token names a key
 * id it does not know (the issuer rotated its keys), at most once per cooldown.
 */
export class DiscoveredIssuerKeys implements IssuerKeys {
  private readonly sets = new Map<string, Promise<JWTVerifyGetKey>>();

  constructor(private readonly timeoutMs = 5_000) {}

  keysFor(issuer: string): Promise<JWTVerifyGetKey> {
    let set = this.sets.get(issuer);
    if (!set) {
      set = this.discover(issuer);
      // A failed discovery is not remembered: the next token tries again.
      set.catch(() => this.sets.delete(issuer));
      this.sets.set(issuer, set);
    }
    return set;
  }

  private async discover(issuer: string): Promise<JWTVerifyGetKey> {
    const base = trustedUrl(issuer, "the issuer");
    const res = await fetch(
      new URL(`${base.pathname.replace(/\/$/, "")}/.well-known/openid-configuration`, base),
      {
        signal: AbortSignal.timeout(this.timeoutMs),
      },
    ).catch(() => null);
    if (!res?.ok)
      throw new KeywardError("unavailable", `cannot read the issuer's OpenID configuration (${issuer})`);
    const doc = (await res.json().catch(() => null)) as { issuer?: unknown; jwks_uri?: unknown } | null;
    if (doc?.issuer !== issuer || typeof doc.jwks_uri !== "string")
      throw new KeywardError("unavailable", `the issuer's OpenID configuration does not describe ${issuer}`);
    return createRemoteJWKSet(trustedUrl(doc.jwks_uri, "the issuer's jwks_uri"), {
      timeoutDuration: this.timeoutMs,
      cooldownDuration: 30_000,
      cacheMaxAge: 10 * 60_000,
    });
  }
}
