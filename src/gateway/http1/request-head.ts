import { BAD_VALUE, TOKEN } from "./fields.js";

/** A request target is visible ASCII (and obs-text): no spaces, controls or anything past Latin-1. */
const BAD_TARGET = /[^!-~\x80-\xff]/;

/** The request could not be written as HTTP/1.1 (a header or path that would corrupt the head). */
export class InvalidRequestError extends Error {
  override readonly name = "InvalidRequestError";
}

/**
 * The head of an HTTP/1.1 request, validated field by field so that no value can inject a
 * header or a second request into the upstream connection. `host` comes first, as RFC 9112
 * §3.2 asks; the caller's headers must not carry their own.
 */
export function requestHead(
  method: string,
  target: string,
  host: string,
  headers: Readonly<Record<string, string>>,
): string {
  if (!TOKEN.test(method)) throw new InvalidRequestError("invalid method");
  if (target.length === 0 || BAD_TARGET.test(target)) throw new InvalidRequestError("invalid request target");
  let head = `${method} ${target} HTTP/1.1\r\nhost: ${host}\r\n`;
  for (const name in headers) {
    const value = headers[name]!;
    if (!TOKEN.test(name) || name === "host") throw new InvalidRequestError(`invalid header name ${name}`);
    if (BAD_VALUE.test(value)) throw new InvalidRequestError(`invalid value for header ${name}`);
    head += `${name}: ${value}\r\n`;
  }
  return head + "\r\n";
}
