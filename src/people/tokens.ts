import { randomBytes } from "node:crypto";

/** Session and link tokens: 256 bits from the CSPRNG, base64url (43 characters). */
export function newToken(): string {
  return randomBytes(32).toString("base64url");
}

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** Cheap syntax check before any lookup: anything else cannot be a token keyward issued. */
export function looksLikeToken(value: string): boolean {
  return TOKEN_SHAPE.test(value);
}
