import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError } from "../config/config.js";
import { loadMasterKeys, MASTER_KEY_FILE, masterKeyId, parseMasterKey } from "./master-key.js";

const posix = process.platform !== "win32";

function sink() {
  const warnings: Array<{ obj: object; msg: string }> = [];
  return { warnings, warn: (obj: object, msg: string) => void warnings.push({ obj, msg }) };
}

describe("parseMasterKey", () => {
  const raw = randomBytes(32);

  it("accepts 64 hex characters and base64 (standard, URL-safe, with or without padding)", () => {
    const id = masterKeyId(raw);
    const b64 = raw.toString("base64");
    for (const v of [
      raw.toString("hex"),
      raw.toString("hex").toUpperCase(),
      b64,
      b64.replace(/=+$/, ""),
      raw.toString("base64url"),
      ` ${b64}\n`,
    ]) {
      expect(parseMasterKey(v, "KEYWARD_MASTER_KEY").id).toBe(id);
    }
  });

  it("decodes base64 with + and / correctly", () => {
    const tricky = Buffer.alloc(32, 0xfb); // base64 "+/+/…"
    expect(tricky.toString("base64")).toMatch(/[+/]/);
    expect(parseMasterKey(tricky.toString("base64"), "X").id).toBe(masterKeyId(tricky));
  });

  it("refuses anything else with a message that names the variable but never the value", () => {
    const bad = [
      "",
      "short",
      raw.subarray(0, 31).toString("base64"),
      randomBytes(33).toString("base64"),
      raw.toString("hex").slice(0, 63),
      raw.toString("hex") + "00",
      "correct horse battery staple correct horse battery staple!!",
    ];
    for (const v of bad) {
      let err: unknown;
      try {
        parseMasterKey(v, "KEYWARD_MASTER_KEY");
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      const message = (err as Error).message;
      expect(message).toContain("KEYWARD_MASTER_KEY");
      expect(message).toContain("32");
      if (v.trim()) expect(message).not.toContain(v.trim());
    }
  });

  it("names a key by the first 8 hex chars of its SHA-256", () => {
    expect(masterKeyId(Buffer.alloc(32, 0))).toBe("66687aad"); // sha256 of 32 zero bytes
  });
});

describe("loadMasterKeys", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "keyward-mk-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("uses the configured key and the previous one, and writes no file", () => {
    const cur = randomBytes(32);
    const prev = randomBytes(32);
    const log = sink();
    const keys = loadMasterKeys(
      { masterKey: cur.toString("base64"), masterKeyPrevious: prev.toString("hex"), dataDir: dir },
      log,
    );
    expect(keys.source).toBe("config");
    expect(keys.current.id).toBe(masterKeyId(cur));
    expect(keys.previous?.id).toBe(masterKeyId(prev));
    expect(log.warnings).toEqual([]);
    expect(() => statSync(path.join(dir, MASTER_KEY_FILE))).toThrow();
  });

  it("drops a previous key equal to the current one", () => {
    const cur = randomBytes(32).toString("base64");
    expect(
      loadMasterKeys({ masterKey: cur, masterKeyPrevious: cur, dataDir: dir }, sink()).previous,
    ).toBeNull();
  });

  it("an invalid previous key is a startup error naming KEYWARD_MASTER_KEY_PREVIOUS", () => {
    expect(() =>
      loadMasterKeys(
        { masterKey: randomBytes(32).toString("base64"), masterKeyPrevious: "nope", dataDir: dir },
        sink(),
      ),
    ).toThrow(/KEYWARD_MASTER_KEY_PREVIOUS/);
  });

  it("without a configured key, creates master.key (0600) once, warns, and reuses it", () => {
    const log = sink();
    const dataDir = path.join(dir, "nested", "data");
    const first = loadMasterKeys({ dataDir }, log);
    const file = path.join(dataDir, MASTER_KEY_FILE);
    expect(first.source).toBe("file");
    expect(first.file).toBe(file);
    if (posix) expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(log.warnings).toHaveLength(1);
    expect(log.warnings[0]!.msg).toMatch(/beside the data/);
    expect(log.warnings[0]!.msg).toMatch(/KEYWARD_MASTER_KEY/);
    // The warning names the file and the key id, never the key.
    const stored = readFileSync(file, "utf8").trim();
    expect(JSON.stringify(log.warnings)).not.toContain(stored);
    const second = loadMasterKeys({ dataDir }, sink());
    expect(second.current.id).toBe(first.current.id);
    expect(parseMasterKey(stored, "file").id).toBe(first.current.id);
  });

  it("mentions replicas when the store is PostgreSQL", () => {
    const log = sink();
    loadMasterKeys({ dataDir: dir, databaseUrl: "postgres://x/y" }, log);
    expect(log.warnings[0]!.msg).toMatch(/every replica/);
  });

  it.runIf(posix)("refuses a key file that group or others can read, without printing it", () => {
    loadMasterKeys({ dataDir: dir }, sink());
    const file = path.join(dir, MASTER_KEY_FILE);
    const content = readFileSync(file, "utf8").trim();
    chmodSync(file, 0o644);
    let err: unknown;
    try {
      loadMasterKeys({ dataDir: dir }, sink());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/chmod 600/);
    expect((err as Error).message).not.toContain(content);
  });

  it("refuses a corrupt key file without printing its content", () => {
    const file = path.join(dir, MASTER_KEY_FILE);
    writeFileSync(file, "not-a-key-but-maybe-something-secret\n", { mode: 0o600 });
    expect(() => loadMasterKeys({ dataDir: dir }, sink())).toThrow(ConfigError);
    try {
      loadMasterKeys({ dataDir: dir }, sink());
    } catch (e) {
      expect((e as Error).message).not.toContain("maybe-something-secret");
      expect((e as Error).message).toContain(file);
    }
  });
});
