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
    // Asynchronous and buffered: a log write never blocks a request on the terminal or a pipe,
    // and under load lines go out 16 KiB at a time (one write per ~70 access lines rather than
    // one each; each write hands the buffer to libuv's thread pool). The buffer is flushed
    // every second and at exit; a hard kill loses at most it.
    destination ??
      pino.destination({ dest: 1, sync: false, minLength: 16_384, maxWrite: 65_536, periodicFlush: 1000 }),
  );
}

/** A log-safe description of an error: its class and message only, never a stack of values. */
export function errorSummary(err: unknown): { type: string; message: string } {
  if (err instanceof Error) return { type: err.name, message: err.message };
  return { type: typeof err, message: String(err) };
}
