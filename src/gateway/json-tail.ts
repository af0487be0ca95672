const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** JSON whitespace (RFC 8259 §2), by byte or character code (undefined: past the end, not space). */
export function isJsonSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * The object value of a top-level key of a JSON object, read from near the end of the document
 * without parsing the rest; `undefined` when this shortcut cannot tell (the caller then parses
 * the whole document). OpenAI responses put `usage` after the bulk (`choices`, `data`, `output`),
 * so an embeddings response of megabytes costs a scan of its last few hundred bytes instead of a
 * `JSON.parse` that holds the event loop for milliseconds.
 *
 * For a valid JSON document the answer equals `JSON.parse(doc)[key]` whenever it is not `undefined`:
 * - it takes the last raw occurrence of `"key"`; an unescaped quote cannot sit inside a string,
 *   so with a colon after it, it is a key (the last one wins, as in JSON.parse);
 * - the value must be an object, and what follows it must close exactly one level and then end:
 *   that holds only for a key of the top-level object. Anything else gives `undefined`.
 * Byte-wise scanning is safe in UTF-8: no byte of a multi-byte character is ASCII.
 */
export function topLevelObjectValue(doc: Buffer, key: string): unknown {
  const needle = `"${key}"`;
  const at = doc.lastIndexOf(needle);
  if (at < 0 || escaped(doc, at)) return undefined;
  const colon = skipSpace(doc, at + needle.length);
  if (doc[colon] !== COLON) return undefined;
  const start = skipSpace(doc, colon + 1);
  if (doc[start] !== OPEN_BRACE) return undefined;
  const end = closingIndex(doc, start, 0);
  if (end < 0) return undefined;
  // The rest must close the object holding the key and nothing more.
  const last = closingIndex(doc, end + 1, 1);
  if (last < 0 || skipSpace(doc, last + 1) !== doc.length) return undefined;
  try {
    return JSON.parse(doc.toString("utf8", start, end + 1)) as unknown;
  } catch {
    return undefined;
  }
}

/** Whether the quote at `at` is escaped (an odd run of backslashes before it). */
function escaped(doc: Buffer, at: number): boolean {
  let n = 0;
  for (let j = at - 1; j >= 0 && doc[j] === BACKSLASH; j--) n++;
  return n % 2 === 1;
}

function skipSpace(doc: Buffer, i: number): number {
  while (i < doc.length && isJsonSpace(doc[i]!)) i++;
  return i;
}

/**
 * Scans from `from`, `depth` levels deep, skipping strings, and returns the index of the bracket
 * that closes the level the scan started in: with depth 0 and `from` at an opening brace, its
 * matching brace; with depth 1, the end of the enclosing object. -1 if there is none.
 */
function closingIndex(doc: Buffer, from: number, depth: number): number {
  let inString = false;
  for (let i = from; i < doc.length; i++) {
    const b = doc[i]!;
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) inString = true;
    else if (b === OPEN_BRACE || b === OPEN_BRACKET) depth++;
    else if ((b === CLOSE_BRACE || b === CLOSE_BRACKET) && --depth === 0) return i;
  }
  return -1;
}
