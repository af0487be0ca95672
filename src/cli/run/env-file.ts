import { readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import { CliError } from "../errors.js";
import { parseKeywardRef, type RunKeySpec } from "./key-spec.js";

export interface EnvFile {
  /** Plain variables, passed to the command as they are. */
  plain: Record<string, string>;
  /** Variables whose value is a `keyward://` reference: each gets a fresh ephemeral key. */
  refs: Array<{ name: string; spec: RunKeySpec }>;
}

/** Reads a dotenv file (Node's own parser) and picks out the `keyward://` references. */
export function readEnvFile(file: string): EnvFile {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new CliError(
      `--env-file: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      2,
    );
  }
  const plain: Record<string, string> = {};
  const refs: EnvFile["refs"] = [];
  for (const [name, value] of Object.entries(parseEnv(text))) {
    if (value === undefined) continue;
    if (value.startsWith("keyward://")) refs.push({ name, spec: parseKeywardRef(value, `${file}: ${name}`) });
    else plain[name] = value;
  }
  return { plain, refs };
}
