import { StringDecoder } from "node:string_decoder";
import { isJsonSpace } from "./json-tail.js";
import type { UsageKind } from "./routes.js";
import type { TokenUsage } from "../usage/types.js";
import { usageFrom } from "./usage-extract.js";

const EVENT_END = /\r?\n\r?\n/g;

/**
 * Relays a server-sent-event stream event by event: each complete event is forwarded as soon
 * as it arrives (no buffering beyond one event), usage is picked out of the stream, and the
 * usage-only chunk keyward asked for itself (`stream_options.include_usage`) is dropped when
 * the client did not ask for it.
 */
export class SseRelay {
  private readonly decoder = new StringDecoder("utf8");
  private pending = "";
  usage: TokenUsage | null = null;
  /** Data events relayed (a floor for completion tokens if the stream dies before its usage). */
  dataEvents = 0;

  constructor(
    private readonly kind: UsageKind,
    private readonly dropUsageChunk: boolean,
  ) {}

  /** Feeds upstream bytes; returns the text to forward now ("" when no event is complete yet). */
  push(chunk: Buffer): string {
    this.pending += this.decoder.write(chunk);
    let out = "";
    let start = 0;
    EVENT_END.lastIndex = 0;
    for (let m = EVENT_END.exec(this.pending); m; m = EVENT_END.exec(this.pending)) {
      const end = m.index + m[0].length;
      const event = this.pending.slice(start, end);
      if (this.keep(event)) out += event;
      start = end;
    }
    this.pending = this.pending.slice(start);
    return out;
  }

  /** The incomplete tail at end of stream (forwarded as is). */
  end(): string {
    const rest = this.pending + this.decoder.end();
    this.pending = "";
    return rest;
  }

  private keep(event: string): boolean {
    const data = dataOf(event);
    if (data === null || data === "[DONE]") return true;
    this.dataEvents++;
    // Streams that report usage send `"usage":null` in every chunk but the last: parse only
    // the events that can hold usage, not every token's.
    if (!hasUsageValue(data)) return true;
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(data) as Record<string, unknown>;
    } catch {
      return true;
    }
    if (this.kind === "responses") {
      const response = parsed.response as Record<string, unknown> | undefined;
      const u = usageFrom("responses", response?.usage);
      if (u) this.usage = u;
      return true;
    }
    const u = usageFrom(this.kind, parsed.usage);
    if (!u) return true;
    this.usage = u;
    const choices = parsed.choices;
    const usageOnly = Array.isArray(choices) && choices.length === 0;
    return !(this.dropUsageChunk && usageOnly);
  }
}

/**
 * Does the event's JSON name a `"usage"` member whose value is not `null`? Read from the text:
 * an unescaped `"usage"` followed by a colon can only be a key, so every real usage member is
 * found; anything unclear answers true and the event is parsed.
 */
export function hasUsageValue(data: string): boolean {
  for (let at = data.indexOf('"usage"'); at !== -1; at = data.indexOf('"usage"', at + 7)) {
    let i = at + 7;
    while (isJsonSpace(data.charCodeAt(i))) i++;
    if (data.charCodeAt(i) !== 58) return true; // not followed by ":"
    i++;
    while (isJsonSpace(data.charCodeAt(i))) i++;
    if (!data.startsWith("null", i)) return true;
  }
  return false;
}

/** The joined `data:` lines of one event, or null when it has none. */
function dataOf(event: string): string | null {
  // The usual event is one `data:` line and the blank line after it.
  const nl = event.indexOf("\n");
  if (
    event.startsWith("data:") &&
    (nl === event.length - 2 || (nl === event.length - 3 && event.charCodeAt(nl + 1) === 13))
  ) {
    const lineEnd = event.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
    return event.slice(event.charCodeAt(5) === 32 ? 6 : 5, lineEnd);
  }
  let data: string | null = null;
  for (const line of event.split(/\r?\n/)) {
    if (line.startsWith("data:")) {
      const value = line.slice(line.charCodeAt(5) === 32 ? 6 : 5);
      data = data === null ? value : data + "\n" + value;
    }
  }
  return data;
}
