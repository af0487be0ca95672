import type SQLite from "better-sqlite3";
import type { Compilable } from "kysely";

/**
 * Every column of a row type, spelled out (`{ a: true, b: true }`): the compiler insists on all
 * of them, so a column added to the table cannot be silently left out of a prepared write.
 */
export type RowColumns<Row> = { readonly [K in keyof Row & string]-?: true };

/** Runs the prepared statement for one row; `changes` says whether it wrote. */
export type RowStatement<Row> = (row: Row) => SQLite.RunResult;

/**
 * A one-row write written with Kysely, compiled once into a prepared better-sqlite3 statement
 * that takes each row's values positionally. Kysely stays the one place the SQL is written; what
 * this saves is building and compiling the query on every call (≈ 0.2 ms a statement), which was
 * most of the SQLite writer thread's CPU per usage batch.
 *
 * `build` is compiled with a row whose every column holds a unique marker, so the compiled
 * parameter list says which column each placeholder takes. A query whose parameters are not all
 * columns of the row (a constant bound as a parameter) is refused here, at setup.
 */
export function preparedRowStatement<Row extends object>(
  sqlite: SQLite.Database,
  allColumns: RowColumns<Row>,
  build: (row: Row) => Compilable,
): RowStatement<Row> {
  const columns = Object.keys(allColumns) as Array<keyof Row & string>;
  const marker = (c: string): string => `\u0000column:${c}`;
  const marked = Object.fromEntries(columns.map((c) => [c, marker(c)])) as Row;
  const compiled = build(marked).compile();
  const byMarker = new Map(columns.map((c) => [marker(c), c]));
  const order = compiled.parameters.map((p) => {
    const column = typeof p === "string" ? byMarker.get(p) : undefined;
    if (column === undefined)
      throw new Error(`preparedRowStatement: parameter ${JSON.stringify(p)} is not a column of the row`);
    return column;
  });
  const statement = sqlite.prepare(compiled.sql);
  return (row) => statement.run(order.map((c) => row[c]));
}
