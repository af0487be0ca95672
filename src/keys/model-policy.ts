import type { CachedKey } from "./cache.js";

/**
 * How a request uses models, for keys with a model allowlist:
 * - `named`: the endpoint takes a model; the request must name it (no provider default);
 * - `hidden`: the endpoint's models cannot be seen (batches, unknown paths), so the allowlist
 *   cannot be enforced and such keys are refused;
 * - `free`: only the models the request names are checked.
 */
export type ModelUse = "named" | "hidden" | "free";

/**
 * The model policy, in one place: every model a request names must be allowed, and under an
 * allowlist `named` endpoints must name one and `hidden` ones are shut. Returns why the request
 * is refused, or null.
 */
export function modelRefusal(
  key: Pick<CachedKey, "allowedModels" | "allowsModel">,
  models: readonly string[],
  use: ModelUse,
): string | null {
  for (const m of models) if (!key.allowsModel(m)) return `model ${m} is not allowed for this key`;
  if (key.allowedModels === null) return null;
  if (use === "hidden") return "this key has a model allowlist, which cannot be enforced on this endpoint";
  if (use === "named" && models.length === 0)
    return "this key has a model allowlist: name the model explicitly";
  return null;
}
