import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { fakeKeywardKey, fakeProviderKey, lookAlikeKey } from "../../test/support/secrets.js";
import { defaultDetectors } from "./detectors.js";
import { Matcher } from "./matcher.js";
import { BINARY_SNIFF_BYTES, StreamScanner, type StreamHit } from "./stream.js";

const matcher = new Matcher(defaultDetectors(["kw"]));

/** Scans `data` written in pieces of `writeSize` through a scanner with `chunkSize` windows. */
function scan(data: Buffer, chunkSize: number, writeSize = data.length || 1) {
  const s = new StreamScanner(matcher, chunkSize);
  for (let i = 0; i < data.length; i += writeSize) s.write(data.subarray(i, i + writeSize));
  return s.end();
}

const brief = (hits: StreamHit[]) => hits.map((h) => `${h.detector.id}@${h.offset}:${h.line}:${h.column}`);

/** Where `needle` is in `text`, as 1-based line and UTF-16 column. */
function lineCol(text: string, needle: string): { line: number; column: number } {
  const i = text.indexOf(needle);
  const before = text.slice(0, i);
  const line = before.split("\n").length;
  return { line, column: i - (before.lastIndexOf("\n") + 1) + 1 };
}

describe("StreamScanner", () => {
  it("finds a key straddling every possible chunk boundary exactly once, same line and column", () => {
    const key = fakeKeywardKey("live");
    for (let chunk = 1; chunk <= 64; chunk += 7) {
      for (let pad = 0; pad < 80; pad++) {
        const text = `${"x ".repeat(pad >> 1)}${pad % 2 ? "\n" : ""}k=${key};\n`;
        const r = scan(Buffer.from(text), chunk, 5);
        expect(r.hits.map((h) => h.secret)).toEqual([key]);
        expect({ line: r.hits[0]!.line, column: r.hits[0]!.column }).toEqual(lineCol(text, key));
      }
    }
  });

  it("chunked results equal a whole-buffer scan on mixed random text", () => {
    const parts: string[] = [];
    const planted: string[] = [];
    for (let i = 0; i < 300; i++) {
      parts.push(randomBytes(1 + (i % 97)).toString("base64"), i % 3 ? " " : "\n");
      if (i % 10 === 0) {
        const s = i % 20 ? fakeKeywardKey(i % 30 ? "live" : "admin") : fakeProviderKey.openaiProject();
        planted.push(s);
        parts.push(s, i % 4 ? "\n" : '", "');
      }
      if (i % 15 === 0) parts.push(lookAlikeKey(), " ");
    }
    const data = Buffer.from(parts.join(""));
    const whole = scan(data, data.length + 1);
    expect(whole.hits.map((h) => h.secret)).toEqual(planted);
    for (const chunk of [1, 2, 3, 50, 419, 420, 421, 422, 1000, 4096]) {
      for (const write of [1, 13, 4096]) {
        if (chunk < 50 && write === 1) continue; // slow and adds nothing over write=13
        expect(brief(scan(data, chunk, write).hits), `chunk ${chunk} write ${write}`).toEqual(
          brief(whole.hits),
        );
      }
    }
  });

  it("reports columns in UTF-16 units of the decoded line (multibyte text before the key)", () => {
    const key = fakeKeywardKey("test");
    for (const prefix of ["é", "日本語 ", "emoji 🔑 ", "a\u00a0b "]) {
      const text = `first line\n${prefix}${prefix}key=${key}\n`;
      for (const chunk of [3, 16, 1 << 20]) {
        const [hit] = scan(Buffer.from(text, "utf8"), chunk, 7).hits;
        expect({ line: hit!.line, column: hit!.column }).toEqual(lineCol(text, key));
      }
    }
  });

  it("counts lines across CRLF and very long lines", () => {
    const key = fakeKeywardKey("live");
    const text = `a\r\nb\r\n${"z".repeat(5000)} ${key}\r\n`;
    const [hit] = scan(Buffer.from(text), 512, 100).hits;
    expect(hit).toMatchObject({ line: 3, column: 5002 });
  });

  it("treats content with a NUL byte in the first 8 KiB as binary and reports nothing", () => {
    const key = fakeKeywardKey("live");
    const bin = Buffer.concat([Buffer.from("PK\x03\x04\0\0"), Buffer.from(` ${key} `)]);
    expect(scan(bin, 1 << 20)).toMatchObject({ binary: true, hits: [] });
    // Even when windows were already scanned before the NUL arrived (tiny chunks).
    const late = Buffer.concat([Buffer.from(` ${key} `), Buffer.alloc(10), Buffer.from("x")]);
    expect(scan(late, 8, 8)).toMatchObject({ binary: true, hits: [] });
    // A NUL after the sniffed prefix does not make text binary.
    const text = Buffer.concat([Buffer.from(`${"a".repeat(BINARY_SNIFF_BYTES)} ${key} `), Buffer.alloc(1)]);
    expect(scan(text, 1 << 20).hits.map((h) => h.secret)).toEqual([key]);
  });

  it("is reusable after reset and scans large streams in a fixed window", () => {
    const s = new StreamScanner(matcher, 64 * 1024);
    const key = fakeKeywardKey("live");
    const filler = Buffer.alloc(1 << 20, "lorem ipsum dolor sit amet\n");
    for (let round = 0; round < 2; round++) {
      s.reset();
      for (let i = 0; i < 16; i++) {
        s.write(filler);
        if (i === 7) s.write(Buffer.from(`key=${key}\n`));
      }
      const r = s.end();
      expect(r.bytes).toBe(16 * filler.length + key.length + 5);
      const newlines = filler.toString("latin1").split("\n").length - 1;
      expect(r.hits.map((h) => h.line)).toEqual([8 * newlines + 1]);
    }
  });
});
