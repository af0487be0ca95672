import pino, { type DestinationStream, type Logger } from "pino";

/** One gateway request, as its access line records it. */
export interface AccessEntry {
  /** keyward's own id (`req_…`): written unescaped, like `keyId` and `endpoint`. */
  requestId: string;
  /** The client's own x-request-id, already checked to be a plain token (see client-request-id). */
  clientRequestId: string | null;
  keyId: string;
  method: string;
  /** A label from the gateway's route table. */
  endpoint: string;
  status: number;
  ms: number;
}

/** Level value of `info` in pino. */
const INFO = 30;
const MESSAGE = "gateway request";

/**
 * Writes gateway access lines in the logger's own format (the same JSON pino writes for
 * `logger.info({ request_id, … }, "gateway request")`, to the same destination), built from a
 * template: a line costs about 1 µs instead of pino's 5 (serialising an arbitrary object,
 * child bindings, hooks), and one is written for every request.
 *
 * The line holds only ids, the method, the endpoint label, the status and a duration, so there
 * is nothing to redact.
 */
export function accessLog(logger: Logger): (entry: AccessEntry) => void {
  const stream = (logger as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym]!;
  // `,"service":"keyward"` and any other bindings, exactly as pino writes them.
  const bindings = JSON.stringify(logger.bindings()).slice(1, -1);
  const afterTime = bindings ? `,${bindings}` : "";
  const tail = `,"msg":${JSON.stringify(MESSAGE)}}\n`;
  return (e) => {
    if (logger.levelVal > INFO) return;
    // Ids are keyward's own (prefix, underscore, base32) and the endpoint is a label from the
    // route table: they cannot need escaping. The method and the client's id are escaped.
    stream.write(
      `{"level":${INFO},"time":${Date.now()}${afterTime},"request_id":"${e.requestId}"` +
        (e.clientRequestId ? `,"client_request_id":${JSON.stringify(e.clientRequestId)}` : "") +
        `,"key_id":"${e.keyId}","method":${JSON.stringify(e.method)},"endpoint":"${e.endpoint}"` +
        `,"status":${e.status},"ms":${e.ms}${tail}`,
    );
  };
}
