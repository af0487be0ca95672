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
    // Asynchronous by default: a log write never blocks a request on the terminal or a pipe.
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/**
 * A logger for fixed-shape access lines (gateway requests) without redaction: those lines
 * carry only ids, paths, statuses and timings by construction, and redaction would cost
 * several microseconds per request on the hot path.
 */
export function accessLogger(logger: Logger): Logger {
  return logger.child({}, { redact: { paths: [] } });
}
