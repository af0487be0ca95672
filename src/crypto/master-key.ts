import { createHash, createSecretKey, randomBytes, type KeyObject } from "node:crypto";
import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import path from "node:path";
import { ConfigError } from "../config/config.js";

/** The file the embedded default keeps its generated master key in, inside the data directory. */
export const MASTER_KEY_FILE = "master.key";

const KEY_BYTES = 32;

/** One AES-256 master key. The raw bytes live only inside `key` (a KeyObject prints no material). */
export interface MasterKey {
  /** First 8 hex chars of SHA-256(key): names the key in every ciphertext, reveals nothing useful. */
  id: string;
  key: KeyObject;
}

/** The keys this process encrypts with (`current`) and still decrypts with (`previous`). */
export interface MasterKeys {
  current: MasterKey;
  previous: MasterKey | null;
  /** Where the current key came from: configuration, or the generated key file beside the data. */
  source: "config" | "file";
  /** The key file's path when `source` is "file". */
  file: string | null;
}

/** What loading needs from the configuration. */
export interface MasterKeyConfig {
  masterKey?: string | undefined;
  masterKeyPrevious?: string | undefined;
  dataDir: string;
  databaseUrl?: string | undefined;
}

/** Where start-up warnings go (the process logger). */
export interface WarningSink {
  warn(obj: object, msg: string): void;
}

/** `masterKeyId` of a raw key: the first 8 hex chars of its SHA-256. */
export function masterKeyId(raw: Buffer): string {
  return createHash("sha256").update(raw).digest("hex").slice(0, 8);
}

/**
 * Decodes a master key given as 64 hex characters or as base64 (standard or URL-safe, padding
 * optional) of exactly 32 bytes. Throws a ConfigError naming `name`, never echoing the value:
 * the value is the secret that protects every provider key.
 */
export function parseMasterKey(value: string, name: string): MasterKey {
  const v = value.trim();
  let raw: Buffer | null = null;
  // Hex first: 64 hex chars are also valid base64 (of 48 bytes), which would be the wrong reading.
  if (/^[0-9a-fA-F]{64}$/.test(v)) raw = Buffer.from(v, "hex");
  else if (/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(v)) raw = Buffer.from(v.replace(/=+$/, ""), "base64url");
  if (!raw || raw.length !== KEY_BYTES) {
    throw new ConfigError(
      `${name} must be ${KEY_BYTES} random bytes given as 64 hex characters or base64 ` +
        "(generate one with `openssl rand -base64 32`)",
    );
  }
  return toMasterKey(raw);
}

/**
 * Loads the master keys once at start-up: the configured key (`KEYWARD_MASTER_KEY`), or on the
 * embedded default a key file generated in the data directory, plus the optional previous key
 * (`KEYWARD_MASTER_KEY_PREVIOUS`) that only decrypts, for `upstreams rotate-master`.
 */
export function loadMasterKeys(config: MasterKeyConfig, log: WarningSink): MasterKeys {
  const previous =
    config.masterKeyPrevious !== undefined
      ? parseMasterKey(config.masterKeyPrevious, "KEYWARD_MASTER_KEY_PREVIOUS")
      : null;
  let current: MasterKey;
  let file: string | null = null;
  if (config.masterKey !== undefined) {
    current = parseMasterKey(config.masterKey, "KEYWARD_MASTER_KEY");
  } else {
    file = path.join(config.dataDir, MASTER_KEY_FILE);
    current = readOrCreateKeyFile(file);
    log.warn(
      { master_key_file: file, master_key_id: current.id },
      "upstream credentials are encrypted with a master key stored beside the data: anyone who can " +
        "read the data directory can decrypt them. Set KEYWARD_MASTER_KEY (32 random bytes, base64 " +
        "or hex) from a secret store for production" +
        (config.databaseUrl ? "; with PostgreSQL every replica must use the same KEYWARD_MASTER_KEY" : ""),
    );
  }
  return {
    current,
    // The same key twice is not a rotation; keep the lookup table unambiguous.
    previous: previous && previous.id !== current.id ? previous : null,
    source: file ? "file" : "config",
    file,
  };
}

/**
 * Reads the key file, or creates it (exclusively, mode 0600) when it does not exist yet. A file
 * that group or others can read is refused: the key would protect nothing.
 */
function readOrCreateKeyFile(file: string): MasterKey {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const raw = randomBytes(KEY_BYTES);
  let fd: number;
  try {
    // `wx`: never overwrite. A second process racing us on first start reads the winner's key.
    fd = openSync(file, "wx", 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
      throw new ConfigError(`cannot create the master key file ${file}: ${errnoMessage(err)}`);
    }
    raw.fill(0);
    return readKeyFile(file);
  }
  try {
    writeSync(fd, raw.toString("base64") + "\n");
    // The ciphertexts written next are useless without this key: make it durable first.
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return toMasterKey(raw);
}

function readKeyFile(file: string): MasterKey {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (err) {
    throw new ConfigError(`cannot read the master key file ${file}: ${errnoMessage(err)}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ConfigError(`the master key file ${file} is not a regular file`);
    // POSIX permission bits are meaningless on Windows; everywhere else they are the protection.
    if (process.platform !== "win32" && (st.mode & 0o077) !== 0) {
      throw new ConfigError(
        `the master key file ${file} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); ` +
          `run \`chmod 600 ${file}\` and start again`,
      );
    }
    return parseMasterKey(readFileSync(fd, "utf8"), `the master key file ${file}`);
  } finally {
    closeSync(fd);
  }
}

function toMasterKey(raw: Buffer): MasterKey {
  const id = masterKeyId(raw);
  const key = createSecretKey(raw);
  // The KeyObject holds its own copy; do not leave a second one in the heap.
  raw.fill(0);
  return { id, key };
}

function errnoMessage(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code}` : err instanceof Error ? err.message : String(err);
}
