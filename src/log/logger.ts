import pino, { type DestinationStream, type Logger } from "pino";

export type { Logger };

/**
 * The process logger. Secrets are kept out by construction (no code logs a key, header or
 * body), and the redaction list is a second line of defence for header objects.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "keyward" },
      redact: {
        paths: [
          "req.headers.authorization",
          "headers.authorization",
          "*.authorization",
          "*.key",
          "*.api_key",
          "*.apiKey",
          "*.secret",
        ],
        censor: "[redacted]",
      },
    },
    destination,
  );
}
