import { sql, type Expression, type ExpressionBuilder, type RawBuilder, type SqlBool } from "kysely";
import type { Dialect } from "../store/database.js";
import type { DB } from "../store/schema.js";

/** The orders a key list can be read in: creation (= id order, ids are time-ordered) or name. */
export const KEY_SORTS = ["created", "-created", "name", "-name"] as const;
export type KeySort = (typeof KEY_SORTS)[number];

/**
 * A `LIKE` pattern matching `text` anywhere, case-insensitively (the caller compares it with a
 * lower-cased column): `%`, `_` and the escape character itself match only themselves, so a
 * search for `100%` or `a_b` means exactly that. Used with `escape '\'`.
 */
export function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * Names sort case-insensitively and in the same (code point) order on both stores: PostgreSQL
 * would otherwise compare by the database's locale, which orders punctuation differently from
 * SQLite's byte order, and a page boundary must mean the same thing to the sort and to the cursor.
 */
export function nameKey(dialect: Dialect): RawBuilder<string> {
  return dialect === "postgres"
    ? sql<string>`lower(api_keys.name) collate "C"`
    : sql<string>`lower(api_keys.name)`;
}

/** Name or masked key contains `text` (case-insensitive). */
export function searchCondition(eb: ExpressionBuilder<DB, "api_keys">, text: string): Expression<SqlBool> {
  const pattern = containsPattern(text);
  return eb.or([
    sql<SqlBool>`lower(api_keys.name) like ${pattern} escape '\\'`,
    sql<SqlBool>`lower(api_keys.hint) like ${pattern} escape '\\'`,
  ]);
}

/**
 * Where a page in `sort` order continues after the key `cursor`: its id, and its `nameKey` as the
 * store computed it (not re-derived here: SQLite's lower() folds ASCII only, JavaScript's all).
 */
export function afterCondition(
  eb: ExpressionBuilder<DB, "api_keys">,
  dialect: Dialect,
  sort: KeySort,
  cursor: { id: string; nameKey: string },
): Expression<SqlBool> {
  const op = sort.startsWith("-") ? "<" : ">";
  if (sort === "created" || sort === "-created") return eb("api_keys.id", op, cursor.id);
  // Keyset on (name, id): ids break ties between equal names, so no key is skipped or repeated.
  const key = nameKey(dialect);
  return eb.or([
    eb(key, op, cursor.nameKey),
    eb.and([eb(key, "=", cursor.nameKey), eb("api_keys.id", op, cursor.id)]),
  ]);
}

/** The ORDER BY of `sort`, ending in the id so the order is total (what the cursor relies on). */
export function orderTerms(dialect: Dialect, sort: KeySort): Array<RawBuilder<unknown>> {
  const dir = sort.startsWith("-") ? sql`desc` : sql`asc`;
  return sort === "name" || sort === "-name"
    ? [sql`${nameKey(dialect)} ${dir}`, sql`api_keys.id ${dir}`]
    : [sql`api_keys.id ${dir}`];
}
