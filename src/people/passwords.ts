import { hash, verify } from "@node-rs/argon2";
import { KeywardError } from "../core/errors.js";
import { COMMON_PASSWORDS } from "./common-passwords.js";

/** The shortest password accepted. */
export const MIN_PASSWORD_LENGTH = 12;
/** The longest: Argon2 takes any length, but a megabyte "password" is a denial of service. */
export const MAX_PASSWORD_LENGTH = 256;

const COMMON = new Set(COMMON_PASSWORDS.map((p) => p.toLowerCase()));

/**
 * Why a password is refused, in words for the person choosing it, or null when it is fine.
 * Pure: the rules are length and the common-password list (NIST SP 800-63B), no composition
 * rules.
 */
export function passwordProblem(password: string, email: string | null): string | null {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) return `use at least ${MIN_PASSWORD_LENGTH} characters`;
  if (length > MAX_PASSWORD_LENGTH) return `use at most ${MAX_PASSWORD_LENGTH} characters`;
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) return "this password is one of the most common ones; choose another";
  if (/^(.)\1*$/u.test(password)) return "this password repeats one character; choose another";
  if (email !== null && lower === email.toLowerCase()) return "the password must not be your email address";
  return null;
}

/** Throws `weak_password` (400) with the reason when the password is refused. */
export function assertStrongPassword(password: string, email: string | null): void {
  const problem = passwordProblem(password, email);
  if (problem)
    throw new KeywardError("weak_password", `password refused: ${problem}`, [
      { path: "password", message: problem },
    ]);
}

/** Password hashing, behind an interface so tests and benchmarks can see what it costs. */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(passwordHash: string, password: string): Promise<boolean>;
}

/**
 * Argon2id (@node-rs/argon2, native) with its defaults: 19 MiB, 2 passes, 1 lane, which is
 * OWASP's recommended minimum. The parameters are in each PHC string, so raising them later
 * keeps old hashes verifiable.
 */
export function argon2idHasher(): PasswordHasher {
  return {
    // Algorithm.Argon2id is a const enum (2); isolatedModules cannot inline it.
    hash: (password) => hash(password, { algorithm: 2 }),
    verify: async (passwordHash, password) => {
      try {
        return await verify(passwordHash, password);
      } catch {
        // A malformed stored hash verifies nothing.
        return false;
      }
    },
  };
}
