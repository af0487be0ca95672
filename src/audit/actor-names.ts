import type { Kysely } from "kysely";
import type { DB } from "../store/schema.js";

/** Actors that are no row of any table: keyward itself, and the CLI run on the server. */
const BUILT_IN: ReadonlyMap<string, string> = new Map([
  ["system", "keyward"],
  ["cli:local", "local CLI"],
]);

/**
 * What people call the actors behind `ids` (a key's creator, an audit entry's actor): a user's
 * display name, an admin key's or a trust policy's name. An id that is none of these any more
 * (its row was deleted) is left out, and the caller shows the bare id. One indexed lookup per
 * table, whatever the number of ids, so a page of 50 keys costs three primary-key reads.
 */
export async function actorNames(db: Kysely<DB>, ids: Iterable<string>): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  const wanted: string[] = [];
  for (const id of new Set(ids)) {
    const builtIn = BUILT_IN.get(id);
    if (builtIn === undefined) wanted.push(id);
    else names.set(id, builtIn);
  }
  if (wanted.length === 0) return names;
  const [users, admins, policies] = await Promise.all([
    db.selectFrom("users").select(["id", "display_name as name"]).where("id", "in", wanted).execute(),
    db.selectFrom("admin_keys").select(["id", "name"]).where("id", "in", wanted).execute(),
    db.selectFrom("trust_policies").select(["id", "name"]).where("id", "in", wanted).execute(),
  ]);
  for (const r of [...users, ...admins]) names.set(r.id, r.name);
  for (const r of policies) names.set(r.id, `trust policy ${r.name}`);
  return names;
}
