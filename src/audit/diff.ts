import { canonicalJson } from "./canonical.js";

/** What an audit entry records about an update: the changed fields, before and after. */
export interface FieldDiff {
  before: Record<string, unknown>;
  after: Record<string, unknown>;
}

/** Before/after of the listed fields that changed (compared canonically), or null when none did. */
export function diffFields<T extends object>(
  before: T,
  after: T,
  fields: readonly (keyof T & string)[],
): FieldDiff | null {
  const b: Record<string, unknown> = {};
  const a: Record<string, unknown> = {};
  for (const f of fields) {
    if (canonicalJson(before[f]) !== canonicalJson(after[f])) {
      b[f] = before[f];
      a[f] = after[f];
    }
  }
  return Object.keys(a).length ? { before: b, after: a } : null;
}
